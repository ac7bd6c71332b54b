"""Faultline sweeps on a Dask cluster: a job plan split into shards, each run by the `faultline`
binary on a worker (`faultline run-jobs PLAN --shard i/n`), its results shipped back, retried
when a worker fails or is lost, and merged (`faultline merge`) into the same results folder a
local run writes.

Usage: ``faultline sweep SCENARIO --vary … --executor dask [--scheduler tcp://…]``, or
``python -m faultline_dask execute PLAN --out DIR --faultline BIN``.
"""
from .executor import ShardRefused, SweepFailed, execute_plan, shard_folder

__all__ = ["ShardRefused", "SweepFailed", "execute_plan", "shard_folder"]
