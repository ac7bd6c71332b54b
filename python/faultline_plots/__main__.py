"""python3 -m faultline_plots DIR [--out DIR/plots] [--html] [--format png|svg]

Draws the charts of a results folder into DIR/plots, lists them in DIR/plots/index.json, links
them from DIR/report.md (a "Plots" section, replaced when drawn again) and, with --html, writes
DIR/report.html. Exit 0 when done, 2 for results it cannot read (one line on stderr).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from .results import Results, ResultsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="faultline_plots", description=__doc__.split("\n\n")[1])
    parser.add_argument("results", help="a results folder or its results.sqlite")
    parser.add_argument("--out", help="where the charts go (default: the folder's plots/)")
    parser.add_argument("--html", action="store_true", help="also write report.html with the charts inline")
    parser.add_argument("--format", choices=["png", "svg"], default="png")
    args = parser.parse_args(argv)
    try:
        results = Results(args.results)
        from . import plots, report

        out = args.out or os.path.join(results.folder, "plots")
        os.makedirs(out, exist_ok=True)
        notes = []
        note = results.time_series_note()
        if note:
            print(note, file=sys.stderr)
            notes.append(note.split(": ", 1)[1])
        index = plots.draw_all(results, out, args.format)
        with open(os.path.join(out, "index.json"), "w") as f:
            json.dump(index, f, indent=2)
        report_path = os.path.join(results.folder, "report.md")
        report.link_plots(report_path, index if os.path.abspath(out) == os.path.join(os.path.abspath(results.folder), "plots") else [], notes)
        print(f"{len(index)} chart(s) in {out}", file=sys.stderr)
        if args.html:
            report.write_html(results.folder, report_path, os.path.join(results.folder, "report.html"))
            print(f"report.html in {results.folder}", file=sys.stderr)
    except ResultsError as error:
        print(f"faultline_plots: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
