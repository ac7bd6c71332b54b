import json
import os
import shutil
import subprocess
import sys

import pytest

from faultline_plots import Results
from faultline_plots import plots
from faultline_plots.__main__ import main

HERE = os.path.dirname(__file__)


def index_of(folder):
    return json.load(open(os.path.join(folder, "plots", "index.json")))


def test_failover_charts_report_section_and_html(failover_results, copy_of):
    folder = copy_of(failover_results)
    assert main([folder, "--html"]) == 0
    index = index_of(folder)
    kinds = {entry["kind"] for entry in index}
    assert {"percentiles", "timeseries"} <= kinds
    for entry in index:
        assert os.path.getsize(os.path.join(folder, "plots", entry["file"])) > 5_000
    report = open(os.path.join(folder, "report.md")).read()
    assert report.count("<!-- faultline-plots:begin -->") == 1
    assert all(f"plots/{e['file']}" in report for e in index)
    # Drawing again replaces the section instead of adding a second one.
    assert main([folder]) == 0
    assert open(os.path.join(folder, "report.md")).read().count("## Plots") == 1
    html = open(os.path.join(folder, "report.html")).read()
    assert html.count("data:image/png;base64,") == len(index)
    assert 'src="plots/' not in html and "<table>" in html


def test_schema3_results_get_a_note_not_a_traceback(schema3_results):
    process = subprocess.run([sys.executable, "-m", "faultline_plots", schema3_results],
                             cwd=os.path.join(HERE, ".."), capture_output=True, text=True)
    assert process.returncode == 0, process.stderr
    assert "Traceback" not in process.stderr
    assert "schema 3" in process.stderr and "re-run" in process.stderr
    assert {e["kind"] for e in index_of(schema3_results)} == {"percentiles"}
    assert "before time series" in open(os.path.join(schema3_results, "report.md")).read()


def test_bad_input_exits_2_with_one_line(tmp_path):
    process = subprocess.run([sys.executable, "-m", "faultline_plots", str(tmp_path / "missing")],
                             cwd=os.path.join(HERE, ".."), capture_output=True, text=True)
    assert process.returncode == 2
    assert process.stderr.strip().count("\n") == 0 and "no such file" in process.stderr


def test_sweep_over_two_numeric_parameters_gets_heatmaps(tmp_path):
    from conftest import run_faultline
    out = str(tmp_path / "sweep")
    result = run_faultline("sweep", "Scenarios/oauth/fanout-sweep.yaml", "--vary", "services.graph.depth=1,2",
                           "--vary", "services.graph.fanout=1,2", "--seeds", "1", "--set", "duration=2s",
                           "--set", "warmup=0s", "--vary", "auth.strategy=central,local", "--out", out)
    assert result.returncode in (0, 1), result.stderr
    files = plots.heatmaps(Results(out), str(tmp_path / "plots"))
    assert [f["kind"] for f in files] == ["heatmap", "heatmap"], files  # one per strategy
    assert all("services.graph.depth × services.graph.fanout" in f["title"] for f in files)


def test_account_sizing_sweep_gets_a_pareto_chart(tmp_path):
    from conftest import run_faultline
    out = str(tmp_path / "sizing")
    result = run_faultline("sweep", "Scenarios/accounts/account-sizing.yaml", "--vary", "accounts.count=1,5,20",
                           "--seeds", "1", "--set", "duration=2s", "--set", "warmup=0s", "--out", out)
    assert result.returncode in (0, 1), result.stderr
    files = plots.pareto(Results(out), str(tmp_path / "plots"))
    assert [f["kind"] for f in files] == ["pareto"]
    assert os.path.getsize(tmp_path / "plots" / files[0]["file"]) > 5_000


def test_html_renders_in_headless_chromium(failover_results, copy_of, tmp_path):
    """report.html opened by a real browser: the screenshot is not empty and not one flat colour."""
    chromium = shutil.which("chromium-headless-shell") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        if os.environ.get("FAULTLINE_REQUIRE_CHROMIUM") == "1":
            pytest.fail("headless Chromium is required (FAULTLINE_REQUIRE_CHROMIUM=1) but not installed")
        pytest.skip("no headless Chromium")
    folder = copy_of(failover_results)
    assert main([folder, "--html"]) == 0
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1200,2400", "file://" + os.path.join(folder, "report.html")],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000
    import matplotlib.image
    pixels = matplotlib.image.imread(str(shot))
    assert pixels.std() > 0.05, "the page rendered as one flat colour"
