"""The notebooks run headless (papermill) against real results and against results from before
time series (schema 3), which must give a message, not a failing cell."""
import json
import os

import papermill
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def execute(tmp_path, notebook, **parameters):
    output = tmp_path / f"{notebook}.ipynb"
    os.environ["FAULTLINE_PYTHON"] = os.path.join(ROOT, "python")
    papermill.execute_notebook(os.path.join(ROOT, "notebooks", f"{notebook}.ipynb"), str(output),
                               parameters={"figures_dir": str(tmp_path / "figures"), **parameters},
                               cwd=os.path.join(ROOT, "notebooks"), kernel_name="python3", progress_bar=False)
    cells = json.load(open(output))["cells"]
    text = "".join(o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"])
                   for c in cells if c["cell_type"] == "code" for o in c.get("outputs", []))
    return text


@pytest.fixture(scope="module", autouse=True)
def kernel():
    os.system("python3 -m ipykernel install --user --name python3 > /dev/null 2>&1")


def test_sim_vs_live_draws_the_throughput_of_both(failover_results, tmp_path):
    text = execute(tmp_path, "sim-vs-live", sim_results=failover_results, live_results=failover_results)
    assert "throughput-sim-vs-live.png" in text
    assert os.path.getsize(tmp_path / "figures" / "throughput-sim-vs-live.png") > 5_000


def test_explore_results_explains_an_old_schema(schema3_results, tmp_path):
    text = execute(tmp_path, "explore-results", results=schema3_results)
    assert "schema 3" in text and "re-run" in text
    assert "Traceback" not in text
