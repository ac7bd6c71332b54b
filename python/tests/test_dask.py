"""faultline_dask against the real binary and a real Dask cluster on 127.0.0.1: the merged
results equal a local run byte for byte, a worker killed mid-shard loses and doubles nothing, a
changed scenario or binary is refused, and an interrupted sweep resumes from its shards."""
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import ROOT, faultline_bin, run_faultline

pytest.importorskip("distributed")

#: Four parameter groups × seeds of the quickstart, each run a few hundred ms in a debug build.
SWEEP = ["sweep", "Scenarios/quickstart.yaml", "--vary", "stations.0.servers=3,4", "--vary", "workload.0.requests.rate=1000/s,1500/s",
         "--set", "duration=6s", "--set", "warmup=1s", "--set", "faults=[{at: 3s, pause: station(tokeninfo), for: 150ms}]"]


def helper(*args, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    return subprocess.Popen([sys.executable, "-m", "faultline_dask", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def read(folder, name):
    with open(os.path.join(folder, name), "rb") as f:
        return f.read()


def planned_runs(folder):
    """(parameters, seed) of every stored run, and how often each occurs."""
    db = sqlite3.connect(os.path.join(folder, "results.sqlite"))
    rows = db.execute("SELECT parameters, seed, COUNT(*) FROM runs GROUP BY parameters, seed").fetchall()
    return {(p, s): n for p, s, n in rows}


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "out"
    result = run_faultline(*SWEEP, "--seeds", "4", "--out", str(out))
    assert result.returncode in (0, 1), result.stderr
    return str(out), result.returncode


def test_dask_sweep_equals_the_local_run_byte_for_byte(local_sweep, tmp_path):
    local, status = local_sweep
    out = tmp_path / "dask"
    env = dict(os.environ, FAULTLINE_PYTHON=os.path.join(ROOT, "python"))
    result = subprocess.run([faultline_bin(), *SWEEP, "--seeds", "4", "--out", str(out), "--executor", "dask",
                             "--workers", "2", "--shards", "5"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == status, result.stderr
    assert "5 shards on 2 Dask worker(s)" in result.stderr
    assert read(out, "summary.json") == read(local, "summary.json")
    assert read(out, "report.md") == read(local, "report.md")
    runs = planned_runs(out)
    assert len(runs) == 16 and set(runs.values()) == {1}


def make_plan(tmp_path, *extra):
    plan = tmp_path / "plan.json"
    result = run_faultline(*SWEEP, "--seeds", "4", "--plan", str(plan), *extra)
    assert result.returncode == 0, result.stderr
    return str(plan)


def test_a_worker_killed_mid_shard_loses_and_doubles_nothing(local_sweep, tmp_path):
    from distributed import Client, LocalCluster

    local, status = local_sweep
    plan = make_plan(tmp_path)
    out = tmp_path / "out"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        proc = helper("execute", plan, "--out", str(out), "--faultline", faultline_bin(), "--scheduler", cluster.scheduler_address,
                      "--shards", "8")
        lines = []
        # After the first shard is in, kill a worker that is running another one.
        for line in proc.stderr:
            lines.append(line)
            if line.startswith("shard ") and " done on " in line:
                break
        killed = None
        deadline = time.monotonic() + 60
        while killed is None and time.monotonic() < deadline:
            busy = [address for address, tasks in client.processing().items() if tasks]
            if busy:
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed = busy[0]
            else:
                time.sleep(0.05)
        assert killed, "no worker was running a shard"
        _, rest = proc.communicate(timeout=600)
        lines.append(rest)
    assert proc.returncode == status, "".join(lines)
    runs = planned_runs(out)
    assert len(runs) == 16 and set(runs.values()) == {1}, runs
    assert read(out, "summary.json") == read(local, "summary.json")
    assert read(out, "report.md") == read(local, "report.md")


def test_a_changed_scenario_or_binary_is_refused(tmp_path):
    scenario = tmp_path / "quickstart.yaml"
    shutil.copy(os.path.join(ROOT, "Scenarios", "quickstart.yaml"), scenario)
    plan = tmp_path / "plan.json"
    result = run_faultline("run", str(scenario), "--seeds", "2", "--set", "duration=3s", "--plan", str(plan))
    assert result.returncode == 0, result.stderr
    # Another build: the same executable with one more byte (it still runs, but hashes differently).
    other = tmp_path / "faultline-other"
    shutil.copy(faultline_bin(), other)
    with open(other, "ab") as f:
        f.write(b"\0")
    proc = helper("execute", str(plan), "--out", str(tmp_path / "a"), "--faultline", faultline_bin(), "--worker-faultline", str(other),
                  "--workers", "1")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, err
    assert "refused" in err and "not the build the plan was written with" in err
    with open(scenario, "a") as f:
        f.write("# edited after planning\n")
    proc = helper("execute", str(plan), "--out", str(tmp_path / "b"), "--faultline", faultline_bin(), "--workers", "1")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, err
    assert "is not the scenario the plan was written for" in err
    assert not os.path.exists(tmp_path / "b" / "results.sqlite")


def test_an_interrupted_sweep_resumes_from_the_shards_done(local_sweep, tmp_path):
    local, status = local_sweep
    plan = make_plan(tmp_path)
    out = tmp_path / "out"
    proc = helper("execute", plan, "--out", str(out), "--faultline", faultline_bin(), "--workers", "2", "--shards", "4", "--no-merge")
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    # As if interrupted after three shards: the fourth is gone, nothing was merged.
    shards = sorted(p for p in os.listdir(out / "shards") if p.startswith("shard-"))
    assert len(shards) == 4
    shutil.rmtree(out / "shards" / shards[2])
    proc = helper("execute", plan, "--out", str(out), "--faultline", faultline_bin(), "--workers", "2", "--shards", "4")
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == status, err
    assert "resuming, 3 shard(s) already done" in err
    assert len(re.findall(r"^shard \d+ done on ", err, re.M)) == 1, err
    assert read(out, "summary.json") == read(local, "summary.json")
    record = json.loads(read(out, "dask.json"))
    assert record["resumed_shards"] == 3 and list(record["task_seconds"]) == ["2"]
