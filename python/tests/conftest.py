"""Fixtures: results written by the real faultline binary (FAULTLINE_BIN, default the debug build)
and a synthetic schema-3 database (results from before time series)."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))

#: A simulated leader crash at 1 s, 2 seeds, 100 ms windows (shared with the CLI tests).
FAILOVER = os.path.join(os.path.dirname(__file__), "failover-probe.yaml")


def faultline_bin() -> str:
    path = os.environ.get("FAULTLINE_BIN", os.path.join(ROOT, ".build", "debug", "faultline"))
    path = path if os.path.isabs(path) else os.path.join(ROOT, path)
    if not os.path.exists(path):
        pytest.fail(f"no faultline binary at {path} (build it, or set FAULTLINE_BIN)")
    return path


def run_faultline(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([faultline_bin(), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def failover_results(tmp_path_factory):
    """A simulated leader crash, 2 seeds, 100 ms windows."""
    folder = tmp_path_factory.mktemp("failover")
    result = run_faultline("run", FAILOVER, "--out", str(folder / "out"))
    assert result.returncode == 0, result.stderr + result.stdout
    return str(folder / "out")


@pytest.fixture(scope="session")
def quickstart_results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quickstart")
    result = run_faultline("run", "Scenarios/quickstart.yaml", "--seeds", "3", "--out", str(folder / "out"))
    assert result.returncode in (0, 1), result.stderr + result.stdout
    return str(folder / "out")


@pytest.fixture
def copy_of(tmp_path):
    def copy(folder: str) -> str:
        target = tmp_path / os.path.basename(folder)
        shutil.copytree(folder, target)
        return str(target)
    return copy


@pytest.fixture
def schema3_results(tmp_path):
    """A results folder as schema 3 wrote it: no timeseries/events, a `timeline` table."""
    folder = tmp_path / "old"
    folder.mkdir()
    db = sqlite3.connect(folder / "results.sqlite")
    db.executescript("""
        CREATE TABLE meta (id INTEGER PRIMARY KEY, schema_version INTEGER NOT NULL, scenario TEXT NOT NULL,
                           mode TEXT NOT NULL, description TEXT NOT NULL, created TEXT NOT NULL);
        CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, scenario TEXT NOT NULL, mode TEXT NOT NULL,
                           parameters TEXT NOT NULL, seed INTEGER NOT NULL, started_at TEXT NOT NULL,
                           wall_seconds REAL NOT NULL, events INTEGER NOT NULL, trace_hash TEXT NOT NULL, passed BOOLEAN NOT NULL);
        CREATE TABLE run_metrics (run_id INTEGER NOT NULL, name TEXT NOT NULL, value REAL, unit TEXT NOT NULL);
        CREATE TABLE histograms (run_id INTEGER NOT NULL, name TEXT NOT NULL, unit TEXT NOT NULL, count INTEGER NOT NULL,
                                 encoding TEXT NOT NULL, data BLOB NOT NULL);
        CREATE TABLE timeline (run_id INTEGER NOT NULL, at_ns INTEGER NOT NULL, kind TEXT NOT NULL,
                               description TEXT NOT NULL, nodes TEXT NOT NULL);
        INSERT INTO meta VALUES (1, 3, 'old', 'live', '', '2026-01-01T00:00:00Z');
        INSERT INTO runs VALUES (1, 'old', 'live', '{}', 1, 'x', 1.0, 10, 'live', 1);
        INSERT INTO run_metrics VALUES (1, 'throughput_per_s', 100.0, '/s');
        INSERT INTO timeline VALUES (1, 6000000000, 'fault', 'crash leader(orders)', 'n1');
    """)
    # One histogram: 3 values of 1 ms and 1 of 5 ms, encoded as hdr-faultline-v1.
    def varint(v):
        out = bytearray()
        while True:
            b = v & 0x7F
            v >>= 7
            out.append(b | (0x80 if v else 0))
            if not v:
                return bytes(out)
    blob = b"FLHG" + bytes([1, 3]) + varint(4) + varint(1_000_000) + varint(5_000_000) + varint(2) \
        + varint(1_000_000) + varint(3) + varint(4_000_000) + varint(1)
    db.execute("INSERT INTO histograms VALUES (1, 'request_latency', 'ms', 4, 'hdr-faultline-v1', ?)", (blob,))
    db.commit()
    db.close()
    (folder / "report.md").write_text("# old — PASS\n")
    return str(folder)
