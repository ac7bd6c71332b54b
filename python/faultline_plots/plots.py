"""The charts of a results folder (matplotlib, Agg backend: no display needed).

Each function draws one kind of chart and returns the files it wrote as index entries
({"file", "title", "kind"}); `draw_all` picks the kinds that fit the results.
"""
from __future__ import annotations

import math
import os
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .results import Results  # noqa: E402

#: Percentiles on the HdrHistogram plot's x-axis (log scale of 1 / (1 − p)).
PERCENTILE_TICKS = [50, 90, 99, 99.9, 99.99, 99.999]
#: Lines on one percentile plot at most (the first groups in run order).
MAX_PERCENTILE_GROUPS = 16
#: More groups than this make a time-series chart per group unreadable: the first ones are drawn.
MAX_TIME_SERIES_GROUPS = 12
#: Event kinds drawn as vertical lines (point events) on time series.
LINE_KINDS = {"fault", "exit", "leader", "nemesis", "undo", "heal"}


def slug(text: str) -> str:
    """A file-name-safe form of a label (deterministic)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:80] or "all"


def _save(fig, out_dir: str, name: str, fmt: str) -> str:
    os.makedirs(out_dir, exist_ok=True)
    file = f"{name}.{fmt}"
    fig.savefig(os.path.join(out_dir, file), dpi=110, bbox_inches="tight")
    plt.close(fig)
    return file


def percentile_plots(results: Results, out_dir: str, fmt: str = "png") -> list[dict]:
    """HdrHistogram-style percentile plot per histogram metric, one line per group, from the
    histograms merged over each group's runs."""
    merged = results.merged_histograms()
    written = []
    for metric in sorted({m for m, _ in merged}):
        fig, ax = plt.subplots(figsize=(8, 4.5))
        levels = np.array([0.0] + list(np.logspace(math.log10(1), math.log10(1e5), 200)))  # 1/(1-p)
        drawn = 0
        for (name, group), histogram in merged.items():
            if name != metric or not histogram.total:
                continue
            drawn += 1
            if drawn > MAX_PERCENTILE_GROUPS:
                continue  # a large sweep: its heatmap is the overview
            ps = [100 * (1 - 1 / x) if x > 0 else 0 for x in levels[1:]]
            values = [histogram.percentile(p) / 1e6 for p in ps]
            ax.plot(levels[1:], values, label=f"{group} (n={histogram.total})")
        if not ax.lines:
            plt.close(fig)
            continue
        ax.set_xscale("log")
        ticks = [1 / (1 - p / 100) for p in PERCENTILE_TICKS]
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{p:g}%" for p in PERCENTILE_TICKS])
        ax.set_xlim(1, ticks[-1])
        ax.set_xlabel("percentile")
        ax.set_ylabel("latency (ms)")
        more = f", first {MAX_PERCENTILE_GROUPS} of {drawn} groups" if drawn > MAX_PERCENTILE_GROUPS else ""
        ax.set_title(f"{metric}: latency by percentile ({results.scenario}{more})")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
        written.append({"file": _save(fig, out_dir, f"percentiles-{slug(metric)}", fmt),
                        "title": f"{metric} by percentile", "kind": "percentiles"})
    return written


def _panels(names: list[str]) -> list[list[str]]:
    """Series grouped into panels: throughput, errors, latency, then one panel per model family."""
    def family(name: str) -> str:
        if name.endswith("throughput"):
            return "0 throughput"
        if "error_rate" in name:
            return "1 error rate"
        if re.search(r"latency\.p\d+$", name):
            return "2 latency " + name.rsplit(".", 1)[0]
        return "3 " + name.split(".", 1)[0]
    panels: dict[str, list[str]] = {}
    for name in sorted(names):
        panels.setdefault(family(name), []).append(name)
    return [panels[k] for k in sorted(panels)]


def draw_events(ax, events: pd.DataFrame, label: bool) -> None:
    """Fault bands (events with an end) and lines for point events (crash, restart, leader change)."""
    for row in events.itertuples():
        if not math.isnan(row.end_s) and row.end_s > row.at_s:
            ax.axvspan(row.at_s, row.end_s, color="tab:red", alpha=0.12, lw=0)
        if row.kind in LINE_KINDS:
            color = "tab:purple" if row.kind == "leader" else ("tab:green" if row.kind in ("undo", "heal") else "tab:red")
            ax.axvline(row.at_s, color=color, lw=0.8, ls="--" if row.kind == "leader" else "-", alpha=0.7)
            if label:
                ax.annotate(row.description, (row.at_s, 1), xycoords=("data", "axes fraction"), rotation=90,
                            fontsize=6, va="top", ha="right", color=color)


def time_series_plots(results: Results, out_dir: str, fmt: str = "png") -> list[dict]:
    """Per group: the first run's series (line) with the group's min–max band per window,
    fault bands and event lines from the first run's events."""
    series = results.time_series()
    if series.empty:
        return []
    events = results.events()
    written = []
    groups = list(dict.fromkeys(series["group"]))
    for group in groups[:MAX_TIME_SERIES_GROUPS]:
        mine = series[series["group"] == group]
        first_run = mine["run_id"].min()
        panels = _panels(list(dict.fromkeys(mine["name"])))
        fig, axes = plt.subplots(len(panels), 1, figsize=(9, 1.9 * len(panels) + 0.6), sharex=True, squeeze=False)
        for ax, names in zip(axes[:, 0], panels):
            for name in names:
                one = mine[mine["name"] == name]
                first = one[one["run_id"] == first_run].sort_values("t_s")
                step = dict(where="post")
                line, = ax.step(first["t_s"], first["value"], label=name, lw=1.1, **step)
                if one["run_id"].nunique() > 1:
                    band = one.groupby("t_s")["value"].agg(["min", "max"]).reset_index()
                    ax.fill_between(band["t_s"], band["min"], band["max"], step="post", alpha=0.2, color=line.get_color())
            unit = mine[mine["name"] == names[0]]["unit"].iloc[0]
            ax.set_ylabel(unit, fontsize=8)
            if unit == "node":  # a node number: n1, n2, … (empty where leaderless)
                ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
                ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"n{int(v)}" if v >= 1 else ""))
            ax.legend(fontsize=7, loc="upper right")
            ax.grid(True, alpha=0.3)
            draw_events(ax, events[events["run_id"] == first_run], label=ax is axes[0, 0])
        axes[-1, 0].set_xlabel("time since the run's start (s)")
        runs = mine["run_id"].nunique()
        fig.suptitle(f"{results.scenario} — {group}: first run, band over {runs} run(s)", fontsize=10)
        fig.tight_layout(rect=(0, 0, 1, 0.97))
        written.append({"file": _save(fig, out_dir, f"timeseries-{slug(group)}", fmt),
                        "title": f"time series: {group}", "kind": "timeseries"})
    return written


def _number(text: str) -> float | None:
    match = re.fullmatch(r"\s*(-?[0-9.]+)\s*([a-zA-Z%/]*)\s*", str(text))
    return float(match.group(1)) if match else None


def main_latency_metric(names) -> str | None:
    names = sorted(set(names))
    for preferred in ("request_latency", "publish_latency"):
        if preferred in names:
            return preferred
    return names[0] if names else None


def heatmaps(results: Results, out_dir: str, fmt: str = "png") -> list[dict]:
    """p99 of the main latency histogram over two swept numeric parameters (one heatmap per value
    of any other swept parameter, e.g. a `compare:` strategy), merged over each cell's runs."""
    runs = results.runs()
    swept = results.swept_parameters()
    numeric = [k for k in swept if all(_number(p.get(k, "")) is not None for p in runs["parameters"])]
    if len(numeric) != 2:
        return []
    x_key, y_key = numeric
    others = [k for k in swept if k not in numeric]
    histograms = results.histograms()
    metric = main_latency_metric(histograms["name"])
    if metric is None:
        return []
    histograms = histograms[histograms["name"] == metric].merge(runs[["id", "parameters"]], left_on="run_id", right_on="id")
    written = []
    facets = sorted({tuple((k, p.get(k)) for k in others) for p in runs["parameters"]})
    for facet in facets:
        cells: dict[tuple[float, float], object] = {}
        for row in histograms.itertuples():
            if any(row.parameters.get(k) != v for k, v in facet):
                continue
            key = (_number(row.parameters[x_key]), _number(row.parameters[y_key]))
            cells[key] = cells[key].merge(row.histogram) if key in cells else row.histogram
        xs = sorted({k[0] for k in cells})
        ys = sorted({k[1] for k in cells})
        grid = np.full((len(ys), len(xs)), np.nan)
        for (x, y), h in cells.items():
            grid[ys.index(y), xs.index(x)] = h.percentile(99) / 1e6 if h.total else np.nan
        fig, ax = plt.subplots(figsize=(1.3 * len(xs) + 2.5, 0.9 * len(ys) + 2))
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis",
                          norm=matplotlib.colors.LogNorm() if np.nanmin(grid) > 0 else None)
        ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs])
        ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys])
        ax.set_xlabel(x_key)
        ax.set_ylabel(y_key)
        for (i, j), value in np.ndenumerate(grid):
            if not np.isnan(value):
                ax.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=7, color="white")
        fig.colorbar(image, ax=ax, label=f"{metric} p99 (ms)")
        label = ", ".join(f"{k}={v}" for k, v in facet)
        ax.set_title(f"{metric} p99 (ms)" + (f" — {label}" if label else ""), fontsize=9)
        written.append({"file": _save(fig, out_dir, f"heatmap-{slug(metric)}-{slug(label or 'all')}", fmt),
                        "title": f"{metric} p99 by {x_key} × {y_key}" + (f" ({label})" if label else ""), "kind": "heatmap"})
    return written


#: Account-sizing metrics (Results/README.md, multi-account model): blast radius, cost, added latency.
PARETO_AXES = ("blast_radius_mean", "overhead_cost", "added_latency_p99")


def pareto(results: Results, out_dir: str, fmt: str = "png") -> list[dict]:
    """Account sizing: blast radius against cost (colour: added latency) per swept setting,
    with the Pareto-optimal settings (no other is at least as good on all three and better on
    one) marked and joined."""
    metrics = results.metrics()
    names = set(metrics["name"])
    blast, cost, latency = PARETO_AXES
    if blast not in names or cost not in names:
        return []
    swept = [k for k in results.swept_parameters() if k.startswith("accounts.")]
    if not swept:
        return []
    table = metrics[metrics["name"].isin(PARETO_AXES)].pivot_table(index="group", columns="name", values="value", aggfunc="mean")
    if latency not in table:
        table[latency] = 0.0
    table = table.dropna(subset=[blast, cost])
    points = table[[blast, cost, latency]].to_numpy()
    optimal = [not any((q <= p).all() and (q < p).any() for q in points) for p in points]
    fig, ax = plt.subplots(figsize=(8, 5))
    scatter = ax.scatter(table[cost], table[blast], c=table[latency], cmap="plasma", s=60, edgecolors="black")
    for (group, row), best in zip(table.iterrows(), optimal):
        ax.annotate(group.replace("accounts.", ""), (row[cost], row[blast]), fontsize=7, xytext=(4, 4),
                    textcoords="offset points", fontweight="bold" if best else "normal")
    front = table[optimal].sort_values(cost)
    ax.plot(front[cost], front[blast], color="tab:green", lw=1.2, label="Pareto-optimal")
    fig.colorbar(scatter, ax=ax, label=f"{latency} (mean over seeds)")
    ax.set_xlabel(f"{cost} (monthly, mean over seeds)")
    ax.set_ylabel(f"{blast} (share of traffic failing)")
    ax.set_title(f"{results.scenario}: blast radius vs cost vs added latency", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return [{"file": _save(fig, out_dir, "pareto-accounts", fmt), "title": "account sizing: blast radius vs cost vs added latency",
             "kind": "pareto"}]


def draw_all(results: Results, out_dir: str, fmt: str = "png") -> list[dict]:
    return (percentile_plots(results, out_dir, fmt) + time_series_plots(results, out_dir, fmt)
            + heatmaps(results, out_dir, fmt) + pareto(results, out_dir, fmt))
