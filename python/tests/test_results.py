import json
import math
import os

import pytest

from faultline_plots import Results, ResultsError, decode_histogram
from faultline_plots.results import Histogram


def test_percentiles_of_decoded_histograms_match_the_summary(failover_results):
    """The Python decoder and percentile agree with what Faultline itself reports (summary.json:
    percentiles of the histogram merged over the runs)."""
    results = Results(failover_results)
    summary = json.load(open(os.path.join(failover_results, "summary.json")))
    merged = results.merged_histograms(by="mode")
    checked = 0
    for (name, _), histogram in merged.items():
        metric = summary["metrics"].get(name)
        if not metric or not histogram.total or metric.get("p99") is None:
            continue
        assert histogram.percentile(50) / 1e6 == pytest.approx(metric["p50"], rel=1e-9, abs=1e-9), name
        assert histogram.percentile(99) / 1e6 == pytest.approx(metric["p99"], rel=1e-9, abs=1e-9), name
        checked += 1
    assert checked >= 2


def test_time_series_and_events_of_a_simulated_failover(failover_results):
    results = Results(failover_results)
    assert results.schema_version >= 4 and results.has_time_series
    series = results.time_series()
    throughput = series[(series["name"] == "publish_throughput") & (series["run_id"] == 1)].sort_values("t_s")
    assert throughput["t_s"].diff().dropna().round(6).eq(0.1).all()
    before = throughput[(throughput["t_s"] >= 0.5) & (throughput["t_s"] < 0.9)]["value"]
    after = throughput[(throughput["t_s"] >= 1.0) & (throughput["t_s"] < 1.5)]["value"]
    assert before.min() > 300 and after.min() < 100, "the crash at 1 s must show as a dip"
    events = results.events()
    crash = events[(events["kind"] == "fault") & (events["run_id"] == 1)].iloc[0]
    assert crash["at_s"] == pytest.approx(1.0) and crash["end_s"] == pytest.approx(2.0)
    assert (events["kind"] == "leader").any()


def test_decoder_rejects_garbage():
    with pytest.raises(ResultsError):
        decode_histogram(b"NOPE\x01\x03")
    with pytest.raises(ResultsError):
        decode_histogram(b"FLHG\x01\x03\x04")  # truncated


def test_merge_adds_counts_and_keeps_extremes():
    a = Histogram(2, 5, 10, {5: 1, 10: 1})
    b = Histogram(1, 1, 20, {20: 1})
    m = a.merge(b)
    assert (m.total, m.min, m.max) == (3, 1, 20)
    assert m.percentile(100) == 20 and m.percentile(0) == 1
    assert math.isclose(m.percentile(50), 10)


def test_schema3_results_read_without_time_series(schema3_results):
    results = Results(schema3_results)
    assert not results.has_time_series
    assert "schema 3" in results.time_series_note()
    assert results.time_series().empty
    events = results.events()
    assert list(events["description"]) == ["crash leader(orders)"]
    h = results.histograms()["histogram"].iloc[0]
    assert h.total == 4 and h.percentile(50) == 1_000_000 and h.percentile(100) == 5_000_000


def test_missing_and_foreign_files_are_clear_errors(tmp_path):
    with pytest.raises(ResultsError, match="no such file"):
        Results(str(tmp_path / "nothing"))
    with pytest.raises(ResultsError, match="no results.sqlite"):
        Results(str(tmp_path))
    (tmp_path / "results.sqlite").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(ResultsError, match="not a Faultline results database"):
        Results(str(tmp_path))
