"""Faultline's charts and HTML report, drawn from a results folder (results.sqlite).

Used by `faultline report DIR --plots [--html]` (which runs `python3 -m faultline_plots`) and by
the notebooks in notebooks/. Reads the schema described in Results/README.md.
"""
from .results import Results, ResultsError, open_results, decode_histogram, Histogram  # noqa: F401
