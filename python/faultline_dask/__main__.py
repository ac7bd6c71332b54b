"""python3 -m faultline_dask execute PLAN --out DIR --faultline BIN [--scheduler tcp://host:port] …

Runs a job plan (`faultline run|sweep … --plan PLAN`) on a Dask cluster and merges it into DIR,
as `faultline run|sweep … --executor dask` does. Exit status: the merge's (0 passed, 1 a check
or SLO failed), 2 when a worker refused the plan (another binary or scenario) or the input is
bad, 3 when the sweep could not finish.

    python3 -m faultline_dask run|sweep ARGS…

is short for `faultline run|sweep ARGS… --executor dask` (FAULTLINE_BIN or `faultline` on PATH).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

from .executor import ShardRefused, SweepFailed, execute_plan


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("run", "sweep"):
        binary = os.environ.get("FAULTLINE_BIN") or shutil.which("faultline")
        if not binary:
            print("faultline_dask: no faultline binary (set FAULTLINE_BIN or put faultline on PATH)", file=sys.stderr)
            return 2
        return subprocess.run([binary, *argv, "--executor", "dask"]).returncode
    parser = argparse.ArgumentParser(prog="faultline_dask", description=__doc__.split("\n\n")[1])
    commands = parser.add_subparsers(dest="command", required=True)
    execute = commands.add_parser("execute", help="run a plan's shards on Dask and merge them")
    execute.add_argument("plan")
    execute.add_argument("--out", required=True, help="the merged results folder (shards go to OUT/shards)")
    execute.add_argument("--faultline", required=True, help="the faultline binary (this machine's; workers' too unless --worker-faultline)")
    execute.add_argument("--scheduler", help="tcp://host:port of a running scheduler (default: a local cluster on 127.0.0.1)")
    execute.add_argument("--workers", type=int, help="workers of the local cluster (default: number of cores)")
    execute.add_argument("--shards", type=int, help="shards (default: 2 per worker thread)")
    execute.add_argument("--retries", type=int, default=3, help="retries of a failed shard (default 3)")
    execute.add_argument("--worker-faultline", help="the binary's path on the workers, when it differs")
    execute.add_argument("--worker-cwd", help="the workers' working folder, where the scenario's path resolves (default: this one)")
    execute.add_argument("--scenario", help="the scenario's path on the workers, when not the plan's")
    execute.add_argument("--shared", help="a folder every worker and this machine share: shards are written there, not shipped")
    execute.add_argument("--no-merge", action="store_true", help="run the shards only")
    execute.add_argument("--junit", help="passed to faultline merge")
    args = parser.parse_args(argv)
    for name in ("plan", "faultline"):
        if not os.path.exists(getattr(args, name)):
            print(f"faultline_dask: {getattr(args, name)}: no such file", file=sys.stderr)
            return 2
    try:
        record = execute_plan(args.plan, args.out, args.faultline, scheduler=args.scheduler, workers=args.workers,
                              shards=args.shards, retries=args.retries, worker_faultline=args.worker_faultline,
                              worker_cwd=args.worker_cwd, shared=args.shared, scenario=args.scenario,
                              merge=not args.no_merge, junit=args.junit)
    except ShardRefused as error:
        print(f"faultline_dask: {error}", file=sys.stderr)
        return 2
    except SweepFailed as error:
        print(f"faultline_dask: {error}", file=sys.stderr)
        return 3
    print(f"dask: {record['runs']} runs in {record['shards']} shards on {record['workers']} worker(s), "
          f"{record['wall_seconds']:.1f} s", file=sys.stderr)
    return record.get("merge_status", 0)


if __name__ == "__main__":
    sys.exit(main())
