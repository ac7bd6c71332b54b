"""Reading a Faultline results database into pandas (schema in Results/README.md)."""
from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field

import pandas as pd

#: The schema that has time series and events (older ones are read without them).
TIME_SERIES_SCHEMA = 4


class ResultsError(Exception):
    """Results that cannot be read: a clear one-line message, never a traceback."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ResultsError("histogram blob is truncated")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ResultsError("histogram blob has an over-long varint")


@dataclass
class Histogram:
    """A decoded `hdr-faultline-v1` histogram: bucket values (ns, ascending) and counts."""

    total: int = 0
    min: int = 0
    max: int = 0
    buckets: dict[int, int] = field(default_factory=dict)

    def merge(self, other: "Histogram") -> "Histogram":
        """Adds `other`'s counts (a merge of histograms, never an average of percentiles)."""
        merged = Histogram(self.total + other.total, self.min, max(self.max, other.max), dict(self.buckets))
        if other.total:
            merged.min = other.min if not self.total else min(self.min, other.min)
        for value, count in other.buckets.items():
            merged.buckets[value] = merged.buckets.get(value, 0) + count
        return merged

    def percentile(self, p: float) -> float:
        """The value (ns) at percentile p (0..100), as HdrHistogram's valueAtPercentile: the
        highest value equivalent to the first bucket whose cumulative count reaches p% of the
        total; p = 0 is the minimum, p = 100 the maximum. 0 when empty."""
        if not self.total:
            return 0.0
        p = min(max(p, 0.0), 100.0)
        if p == 0:
            return float(self.min)
        if p >= 100:
            return float(self.max)
        import math

        target = max(1, math.ceil(math.nextafter(p, 0) * self.total / 100))
        running = 0
        for value in sorted(self.buckets):
            running += self.buckets[value]
            if running >= target:
                return float(min(max(value, self.min), self.max))
        return float(self.max)


def decode_histogram(blob: bytes) -> Histogram:
    """Decodes the `hdr-faultline-v1` format (Sources/Shared/Stats/HistogramEncoding.swift)."""
    if len(blob) < 6 or blob[:4] != b"FLHG":
        raise ResultsError("histogram blob does not start with FLHG")
    if blob[4] != 1:
        raise ResultsError(f"histogram format version {blob[4]} is not supported")
    pos = 6
    total, pos = _varint(blob, pos)
    low, pos = _varint(blob, pos)
    high, pos = _varint(blob, pos)
    entries, pos = _varint(blob, pos)
    buckets: dict[int, int] = {}
    value = 0
    for _ in range(entries):
        delta, pos = _varint(blob, pos)
        count, pos = _varint(blob, pos)
        value += delta
        buckets[value] = count
    if pos != len(blob):
        raise ResultsError("histogram blob has trailing bytes")
    return Histogram(total, low, high, buckets)


def group_label(parameters: dict) -> str:
    """A parameter group as people read it: `key=value, …` in key order, or `all runs`."""
    if not parameters:
        return "all runs"
    return ", ".join(f"{k}={v}" for k, v in sorted(parameters.items()))


class Results:
    """One results database. Tables come back as pandas DataFrames."""

    def __init__(self, path: str):
        database = os.path.join(path, "results.sqlite") if os.path.isdir(path) else path
        if not os.path.exists(path):
            raise ResultsError(f"{path}: no such file or folder")
        if not os.path.isfile(database):
            raise ResultsError(f"{path}: no results.sqlite inside")
        self.path = path
        self.folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
        self.database = database
        try:
            self.connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
            tables = {row[0] for row in self.connection.execute("SELECT name FROM sqlite_master")}
            if "runs" not in tables or "meta" not in tables:
                raise ResultsError(f"{database}: not a Faultline results database (no runs/meta tables)")
            row = self.connection.execute("SELECT schema_version, scenario, mode, description FROM meta WHERE id = 1").fetchone()
        except sqlite3.DatabaseError as error:
            raise ResultsError(f"{database}: not a Faultline results database ({error})") from None
        self.schema_version, self.scenario, self.mode, self.description = row if row else (0, "", "", "")
        self.tables = tables

    @property
    def has_time_series(self) -> bool:
        return self.schema_version >= TIME_SERIES_SCHEMA and "timeseries" in self.tables

    def time_series_note(self) -> str | None:
        """Why there are no time series, for a printed note (None when there are)."""
        if self.schema_version < TIME_SERIES_SCHEMA:
            return (f"{self.path}: results written with schema {self.schema_version} (before time series, "
                    f"schema {TIME_SERIES_SCHEMA}); re-run the scenario to get time series and events")
        if self.time_series().empty:
            return f"{self.path}: these runs recorded no time series"
        return None

    def _frame(self, sql: str, params: tuple = ()) -> pd.DataFrame:
        return pd.read_sql_query(sql, self.connection, params=params)

    def runs(self) -> pd.DataFrame:
        """One row per run: id, mode, seed (as UInt64), parameters (dict), group (label), passed…"""
        runs = self._frame("SELECT * FROM runs ORDER BY id")
        runs["seed"] = runs["seed"].map(lambda s: int(s) % 2**64)
        runs["parameters"] = runs["parameters"].map(json.loads)
        runs["group"] = runs["parameters"].map(group_label)
        runs["passed"] = runs["passed"].astype(bool)
        return runs

    def groups(self) -> list[str]:
        """Parameter groups in first-run order."""
        return list(dict.fromkeys(self.runs()["group"]))

    def metrics(self) -> pd.DataFrame:
        """Scalar metrics, long format: run_id, name, value, unit, plus the run's group, mode, seed."""
        metrics = self._frame("SELECT run_id, name, value, unit FROM run_metrics ORDER BY run_id, name")
        return metrics.merge(self.runs()[["id", "group", "mode", "seed", "parameters"]], left_on="run_id", right_on="id").drop(columns="id")

    def histograms(self) -> pd.DataFrame:
        """Latency histograms: run_id, name, unit, group, mode, seed, histogram (decoded)."""
        rows = self._frame("SELECT run_id, name, unit, encoding, data FROM histograms ORDER BY run_id, name")
        bad = rows[rows["encoding"] != "hdr-faultline-v1"]
        if not bad.empty:
            raise ResultsError(f"{self.database}: histogram encoding {bad['encoding'].iloc[0]} is not supported")
        rows["histogram"] = rows["data"].map(lambda b: decode_histogram(bytes(b)))
        rows = rows.drop(columns=["data", "encoding"])
        return rows.merge(self.runs()[["id", "group", "mode", "seed"]], left_on="run_id", right_on="id").drop(columns="id")

    def merged_histograms(self, by: str = "group") -> dict[tuple[str, str], Histogram]:
        """(metric, group) → the histogram merged over the group's runs."""
        merged: dict[tuple[str, str], Histogram] = {}
        for row in self.histograms().itertuples():
            key = (row.name, getattr(row, by))
            merged[key] = merged[key].merge(row.histogram) if key in merged else row.histogram
        return merged

    def time_series(self) -> pd.DataFrame:
        """Long format, one row per window: run_id, name, unit, window, t_s, value, group, mode,
        seed. Empty (with those columns) for results without time series."""
        columns = ["run_id", "name", "unit", "window", "t_s", "value", "group", "mode", "seed"]
        if not self.has_time_series:
            return pd.DataFrame(columns=columns)
        rows = []
        for run_id, name, unit, start, width, points in self.connection.execute(
                "SELECT run_id, name, unit, start_ns, window_ns, points FROM timeseries ORDER BY run_id, name"):
            for i, value in enumerate(json.loads(points)):
                rows.append((run_id, name, unit, i, (start + i * width) / 1e9, value))
        frame = pd.DataFrame(rows, columns=columns[:6])
        frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
        return frame.merge(self.runs()[["id", "group", "mode", "seed"]], left_on="run_id", right_on="id").drop(columns="id")

    def events(self) -> pd.DataFrame:
        """Faults, heals, crashes and leader changes: run_id, at_s, end_s (NaN: a point event),
        kind, description, nodes, group, mode, seed. Schema 2/3 `timeline` rows are read too."""
        if "events" in self.tables:
            events = self._frame("SELECT run_id, at_ns, end_ns, kind, description, nodes FROM events ORDER BY run_id, at_ns")
        elif "timeline" in self.tables:
            events = self._frame("SELECT run_id, at_ns, NULL AS end_ns, kind, description, nodes FROM timeline ORDER BY run_id, at_ns")
        else:
            events = pd.DataFrame(columns=["run_id", "at_ns", "end_ns", "kind", "description", "nodes"])
        events["at_s"] = pd.to_numeric(events["at_ns"]) / 1e9
        events["end_s"] = pd.to_numeric(events["end_ns"], errors="coerce") / 1e9
        events = events.drop(columns=["at_ns", "end_ns"])
        return events.merge(self.runs()[["id", "group", "mode", "seed"]], left_on="run_id", right_on="id").drop(columns="id")

    def swept_parameters(self) -> list[str]:
        """Parameter keys whose value differs between runs (sweep axes, `compare:` axes, driver)."""
        runs = self.runs()
        keys = sorted({k for p in runs["parameters"] for k in p})
        return [k for k in keys if len({p.get(k) for p in runs["parameters"]}) > 1]


def open_results(path: str) -> Results:
    return Results(path)
