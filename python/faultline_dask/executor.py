"""Runs a Faultline job plan on Dask: one task per shard, the results merged by the binary.

What each side does:
- the client (this process) reads the plan, decides the shards, submits one task per shard not
  done yet, writes each finished shard's results.sqlite into OUT/shards/ (atomically, once),
  shows progress, and finally runs ``faultline merge``;
- a worker task runs ``faultline run-jobs PLAN --shard i/n`` in a private temporary folder and
  returns the shard's SQLite bytes (or, with a shared folder, leaves them there and returns
  the path).

Failures: a task whose process exits with anything but 0 or 2 raises, and Dask retries it (on
any worker); a worker that dies mid-task has its task rescheduled by the scheduler. Exit 2 is a
refusal (another binary or scenario than the plan's): retrying cannot help, so the sweep stops.
Every shard lands in OUT/shards/ at most once, and the merge checks that every planned run is
there exactly once, so a retried shard whose first attempt also finished is neither lost nor
doubled. Re-running the same command resumes: shards already in OUT/shards/ are not run again.
"""
from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field


class SweepFailed(Exception):
    """The sweep could not finish (a shard kept failing, or the cluster went away)."""


class ShardRefused(SweepFailed):
    """A worker's binary or scenario differs from the plan's: exit 2, no retry."""


def shard_folder(out: str, index: int, count: int) -> str:
    return os.path.join(out, "shards", f"shard-{index:05d}-of-{count:05d}")


def _die_with_parent() -> None:
    # A worker killed mid-shard takes its faultline process with it (Linux), instead of leaving
    # it to finish a shard nobody will collect. The task's thread waits on the child for its
    # whole life, so "parent thread exits" only happens when the worker dies.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def run_shard(plan_text: str, index: int, count: int, faultline: str, cwd: str, threads: int,
              shared: str | None = None, scenario: str | None = None) -> dict:
    """The worker side: runs one shard and returns its results (bytes, or a path in `shared`)."""
    started = time.monotonic()
    scratch = tempfile.mkdtemp(prefix=f"faultline-shard-{index}-")
    try:
        plan_path = os.path.join(scratch, "plan.json")
        with open(plan_path, "w") as f:
            f.write(plan_text)
        out = os.path.join(shared, "attempts", uuid.uuid4().hex) if shared else os.path.join(scratch, "out")
        command = [faultline, "run-jobs", plan_path, "--shard", f"{index}/{count}", "--out", out, "--jobs", str(threads)]
        if scenario:
            command += ["--scenario", scenario]
        env = dict(os.environ, CI="1")  # no progress bar on a worker
        # Dask's nanny sets a 64 KiB malloc trim threshold for its Python workers; inherited by
        # faultline it makes glibc return memory after every run's frees: runs were 16% slower.
        env.pop("MALLOC_TRIM_THRESHOLD_", None)
        proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, preexec_fn=_die_with_parent)
        where = f"{socket.gethostname()}:{os.getpid()}"
        if proc.returncode == 2:
            return {"index": index, "refused": proc.stderr.strip() or proc.stdout.strip(), "worker": where}
        if proc.returncode != 0:
            raise RuntimeError(f"shard {index}/{count} on {where}: faultline run-jobs exit {proc.returncode}: {proc.stderr.strip()[-2000:]}")
        result = {"index": index, "worker": where, "seconds": time.monotonic() - started, "stdout": proc.stdout.strip()}
        if shared:
            result["path"] = out
        else:
            with open(os.path.join(out, "results.sqlite"), "rb") as f:
                result["sqlite"] = f.read()
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _shard_task():
    """`run_shard` as a closure: Dask's serializer cannot pickle a local function by reference,
    falls back to cloudpickle, and cloudpickle ships it — and, with this module registered by
    value, `run_shard` — by value. So workers need the faultline binary, not this package."""
    def task(*args):
        return run_shard(*args)
    return task


@dataclass
class Progress:
    total_shards: int
    total_runs: int
    done_shards: int = 0
    done_runs: int = 0
    started: float = field(default_factory=time.monotonic)
    stream: object = sys.stderr

    def shard_done(self, index: int, runs: int, worker: str, seconds: float) -> None:
        self.done_shards += 1
        self.done_runs += runs
        elapsed = time.monotonic() - self.started
        rate = self.done_runs / elapsed if elapsed > 0 else 0.0
        left = (self.total_runs - self.done_runs) / rate if rate > 0 else float("nan")
        print(f"shard {index} done on {worker} ({runs} runs, {seconds:.1f} s): {self.done_shards}/{self.total_shards} shards, "
              f"{self.done_runs}/{self.total_runs} runs, {rate:.1f} runs/s, about {left:.0f} s left",
              file=self.stream, flush=True)


def _plan_runs(plan: dict, index: int, count: int) -> int:
    n = len(plan["jobs"])
    return n * (index + 1) // count - n * index // count


def _layout(out: str, plan: dict, requested: int | None, default: int) -> int:
    """The shard count: fixed by the first attempt (OUT/shards/layout.json), so a resumed sweep
    reuses the shards already done."""
    os.makedirs(os.path.join(out, "shards"), exist_ok=True)
    path = os.path.join(out, "shards", "layout.json")
    if os.path.exists(path):
        with open(path) as f:
            layout = json.load(f)
        if layout["plan"] != plan["id"]:
            raise SweepFailed(f"{out}/shards holds shards of plan {layout['plan']}, not {plan['id']}")
        if requested and requested != layout["shards"]:
            print(f"resuming with the earlier {layout['shards']} shards (not --shards {requested})", file=sys.stderr)
        return layout["shards"]
    count = max(1, min(requested or default, len(plan["jobs"])))
    with open(path + ".tmp", "w") as f:
        json.dump({"plan": plan["id"], "shards": count}, f)
    os.replace(path + ".tmp", path)
    return count


def _store(out: str, index: int, count: int, result: dict) -> bool:
    """Puts a finished shard in place once (rename is atomic); False when it was already there."""
    final = shard_folder(out, index, count)
    if os.path.exists(os.path.join(final, "results.sqlite")):
        if result.get("path"):
            shutil.rmtree(result["path"], ignore_errors=True)
        return False
    staging = os.path.join(out, "shards", f".incoming-{index}-{uuid.uuid4().hex}")
    if result.get("path"):
        shutil.move(result["path"], staging)
    else:
        os.makedirs(staging)
        with open(os.path.join(staging, "results.sqlite"), "wb") as f:
            f.write(result["sqlite"])
    try:
        os.rename(staging, final)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        return False
    return True


def execute_plan(plan_path: str, out: str, faultline: str, scheduler: str | None = None, workers: int | None = None,
                 shards: int | None = None, retries: int = 3, worker_faultline: str | None = None,
                 worker_cwd: str | None = None, shared: str | None = None, scenario: str | None = None,
                 merge: bool = True, junit: str | None = None, stream=sys.stderr) -> dict:
    """Runs every shard not done yet, then merges (unless `merge` is false).

    Returns a record of the execution (also written to OUT/dask.json): shards, workers, wall
    time, per-shard task seconds, retries seen, and the merge's exit status."""
    import cloudpickle
    from distributed import Client, LocalCluster, as_completed

    # Workers need the faultline binary and the scenario, not this package: the task function
    # travels by value (a worker of any Dask cluster with the same Python and Dask runs it).
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with open(plan_path) as f:
        plan_text = f.read()
    plan = json.loads(plan_text)
    os.makedirs(out, exist_ok=True)
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        n = workers or os.cpu_count() or 1
        # Loopback only; one thread per worker, as each task is one faultline process.
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster)
    started = time.monotonic()
    try:
        info = client.scheduler_info()
        threads = sum(w.get("nthreads", 1) for w in info["workers"].values()) or 1
        count = _layout(out, plan, shards, 2 * threads)
        todo = [i for i in range(count) if not os.path.exists(os.path.join(shard_folder(out, i, count), "results.sqlite"))]
        resumed = count - len(todo)
        print(f"plan {plan['id']}: {len(plan['jobs'])} runs in {count} shards on {len(info['workers'])} Dask worker(s) "
              f"({threads} threads, scheduler {client.scheduler.address})"
              + (f"; resuming, {resumed} shard(s) already done" if resumed else ""), file=stream, flush=True)
        progress = Progress(total_shards=count, total_runs=len(plan["jobs"]), stream=stream)
        for i in range(count):
            if i not in todo:
                progress.done_shards += 1
                progress.done_runs += _plan_runs(plan, i, count)
        binary = worker_faultline or faultline
        cwd = worker_cwd or os.getcwd()
        task = _shard_task()
        futures = {
            client.submit(task, plan_text, i, count, binary, cwd, 1, shared, scenario,
                          key=f"faultline-shard-{plan['id']}-{i}-of-{count}", retries=retries, pure=False): i
            for i in todo
        }
        task_seconds: dict[int, float] = {}
        for future in as_completed(list(futures)):
            index = futures.pop(future)
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 — any worker failure ends the sweep here
                for other in futures:
                    other.cancel()
                raise SweepFailed(f"shard {index}/{count} failed after {retries} retries: {error}") from error
            if "refused" in result:
                for other in futures:
                    other.cancel()
                raise ShardRefused(f"shard {index}/{count} refused on {result['worker']}: {result['refused']}")
            # Forget the result on the cluster: a worker lost later would otherwise have Dask
            # recompute a shard this client already holds.
            future.release()
            _store(out, index, count, result)
            task_seconds[index] = result["seconds"]
            progress.shard_done(index, _plan_runs(plan, index, count), result["worker"], result["seconds"])
        wall = time.monotonic() - started
        record = {"plan": plan["id"], "runs": len(plan["jobs"]), "shards": count, "resumed_shards": resumed,
                  "workers": len(info["workers"]), "threads": threads, "scheduler": client.scheduler.address,
                  "wall_seconds": wall, "task_seconds": {str(k): v for k, v in sorted(task_seconds.items())}}
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    with open(os.path.join(out, "dask.json"), "w") as f:
        json.dump(record, f, indent=2, sort_keys=True)
    if merge:
        folders = [shard_folder(out, i, count) for i in range(count)]
        command = [faultline, "merge", out, *folders, "--plan", plan_path] + (["--junit", junit] if junit else [])
        record["merge_status"] = subprocess.run(command).returncode
    return record
