"""Plots of the study (matplotlib, no display needed), each saved as PNG and PDF.

PNG is for the HTML report and slides, PDF (vector) for the paper. Every function takes
the data and one or more output paths; the format follows each path's suffix, and each
file is written atomically (temporary sibling, then rename), so an interrupted job never
leaves a half-written figure that Snakemake would take for done.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from csbench.io import atomic_path  # noqa: E402
from csbench.report.scoring import LANGUAGE_METRIC_PREFIX, describe_model  # noqa: E402
from csbench.report.tables import model_order, paper_table  # noqa: E402

KIND_COLORS = {"base": "#444444", "finetune": "#1f77b4", "merge": "#d62728", "dg": "#2ca02c"}
MODE_MARKERS = {"full": "o", "lora": "s", "": "D"}
MODE_LINESTYLES = {"full": "-", "lora": "--"}

__all__ = [
    "KIND_COLORS",
    "draw_figures",
    "mer_heatmap",
    "merge_scaling",
    "per_language_bars",
    "plt",
    "save_figure",
    "seen_vs_unseen",
]


def save_figure(figure: plt.Figure, path: str | Path, *more_paths: str | Path) -> None:
    """Save to every path (format from its suffix) atomically, then free the figure."""
    try:
        for target in (path, *more_paths):
            with atomic_path(target) as temporary:
                figure.savefig(temporary, dpi=150, bbox_inches="tight", format=Path(target).suffix.lstrip("."))
    finally:
        plt.close(figure)


def _number(value: float) -> str:
    return f"{value:.2f}" if np.isfinite(value) else ""


def _message_figure(message: str, title: str, *paths: str | Path) -> None:
    """A figure that says why there is nothing to plot: the output must still exist."""
    figure, axis = plt.subplots(figsize=(6, 2.5))
    axis.axis("off")
    axis.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    axis.set_title(title)
    save_figure(figure, *paths)


def mer_heatmap(table: pd.DataFrame, *paths: str | Path) -> None:
    """Models × pairs heatmap of an error rate (the paper table), annotated with the values."""
    height = max(3.0, 0.32 * len(table) + 1.5)
    figure, axis = plt.subplots(figsize=(1.1 * len(table.columns) + 4, height))
    values = table.to_numpy(dtype=float)
    image = axis.imshow(np.ma.masked_invalid(values), aspect="auto", cmap="viridis_r")
    axis.set_xticks(range(len(table.columns)), table.columns, rotation=45, ha="right")
    axis.set_yticks(range(len(table.index)), table.index, fontsize=7)
    middle = np.nanmean(values) if np.isfinite(values).any() else 0.0
    for row in range(table.shape[0]):
        for column in range(table.shape[1]):
            value = values[row, column]
            if np.isfinite(value):
                # Light text on the dark (high-error) end of viridis_r, dark text elsewhere.
                color = "white" if value >= middle else "black"
                axis.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=6, color=color)
    figure.colorbar(image, ax=axis, label="mixed error rate")
    axis.set_title("Mixed error rate per model and language pair")
    save_figure(figure, *paths)


def _family_legend(axis: plt.Axes, kinds: list[str], modes: list[str], **options: object) -> None:
    """Legend by colour (model family) and marker (fine-tuning mode), not one entry per point."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=KIND_COLORS.get(kind, "gray"), marker="o", linestyle="", label=kind)
               for kind in KIND_COLORS if kind in kinds]
    handles += [Line2D([], [], color="gray", marker=MODE_MARKERS[mode], linestyle="", label=f"{mode} fine-tuning")
                for mode in ("full", "lora") if mode in modes]
    axis.legend(handles=handles, title="model family / mode", **options)


def seen_vs_unseen(table: pd.DataFrame, *paths: str | Path) -> None:
    """Seen-pair average against unseen-pair average, one point per model, by family (kind)."""
    if table.empty or table[["seen avg", "unseen avg"]].isna().all().any():
        _message_figure("needs at least one seen and one unseen pair", "Seen vs unseen pairs", *paths)
        return
    figure, axis = plt.subplots(figsize=(6.5, 5.5))
    kinds, modes = [], []
    for model, row in table.iterrows():
        described = describe_model(str(model))
        kind, mode = str(described["kind"]), str(described["mode"])
        kinds.append(kind)
        modes.append(mode)
        axis.scatter(row["seen avg"], row["unseen avg"], color=KIND_COLORS.get(kind, "gray"), s=28,
                     marker=MODE_MARKERS.get(mode, "o"))
        if kind != "merge":
            label = f"{described['method']} (DG)" if kind == "dg" else str(model).removeprefix("finetune/")
            axis.annotate(label, (row["seen avg"], row["unseen avg"]),
                          fontsize=6, xytext=(3, 3), textcoords="offset points")
    _family_legend(axis, kinds, modes, fontsize=8)
    low = min(table["seen avg"].min(), table["unseen avg"].min())
    high = max(table["seen avg"].max(), table["unseen avg"].max())
    axis.plot([low, high], [low, high], color="lightgray", linestyle="--", linewidth=1)
    axis.set_xlabel("seen pairs: average mixed error rate")
    axis.set_ylabel("unseen pairs: average mixed error rate")
    axis.set_title("Does code-switching ability carry over to unseen pairs?")
    save_figure(figure, *paths)


def _models_frame(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """One row per model: its descriptors and the paper-table ``column`` as ``score``."""
    frame = pd.DataFrame([describe_model(str(model)) for model in table.index])
    frame["score"] = table[column].to_numpy(dtype=float)
    return frame.dropna(subset=["score"])


def merge_scaling(table: pd.DataFrame, *paths: str | Path) -> None:
    """Unseen-pair average MER against the number of merged seen pairs.

    One line per merge method × mode through the mean over combinations of each size
    (each combination a faint point), starting at x = 1 from the mean of that mode's
    single-pair fine-tunes (a merge of one pair is the fine-tune itself); fine-tunes as
    points at x = 1, DG models as stars at their number of pairs, the base as a line.
    Falling lines mean that adding seen pairs to a merge helps the unseen pairs.
    """
    if table.empty or table["unseen avg"].isna().all():
        _message_figure("no unseen pairs in this study", "Unseen MER vs merged pairs", *paths)
        return
    frame = _models_frame(table, "unseen avg")
    figure, axis = plt.subplots(figsize=(7.5, 5.5))
    base = frame[frame["kind"] == "base"]
    if not base.empty:
        axis.axhline(base["score"].iloc[0], color=KIND_COLORS["base"], linestyle=":", label="base (zero-shot)")
    finetunes = frame[frame["kind"] == "finetune"]
    for mode, rows in finetunes.groupby("mode"):
        axis.scatter(np.ones(len(rows)), rows["score"], color=KIND_COLORS["finetune"], alpha=0.7, zorder=3,
                     marker=MODE_MARKERS.get(str(mode), "o"), label=f"fine-tune ({mode})")
    merges = frame[frame["kind"] == "merge"]
    palette = plt.get_cmap("tab10")
    # One colour per method (the mode is the line style), skipping the families' colours.
    colors = {method: palette((index + 4) % 10) for index, method in enumerate(sorted(merges["method"].unique()))}
    for (method, mode), rows in merges.groupby(["method", "mode"]):
        color = colors[method]
        axis.scatter(rows["n_members"], rows["score"], color=color, alpha=0.3, s=14)
        means = rows.groupby("n_members")["score"].mean()
        start = finetunes.loc[finetunes["mode"] == mode, "score"]
        if not start.empty:
            means = pd.concat([pd.Series({1: start.mean()}), means])
        axis.plot(means.index, means.to_numpy(), color=color, marker=MODE_MARKERS.get(str(mode), "o"),
                  linestyle=MODE_LINESTYLES.get(str(mode), "-"), label=f"{method} ({mode})")
    dg = frame[frame["kind"] == "dg"]
    if not dg.empty:
        axis.scatter(dg["n_members"], dg["score"], marker="*", s=120, color=KIND_COLORS["dg"], edgecolor="black",
                     linewidth=0.5, zorder=4, label="DG model (name beside it)")
        for _, row in dg.iterrows():
            axis.annotate(str(row["method"]), (row["n_members"], row["score"]), fontsize=6, xytext=(5, -2),
                          textcoords="offset points")
    largest = int(max(frame["n_members"].max(), 1))
    axis.set_xticks(range(1, largest + 1))
    axis.set_xlim(0.7, largest + 0.3)
    axis.set_xlabel("number of seen pairs merged (1 = single-pair fine-tune)")
    axis.set_ylabel("unseen pairs: average mixed error rate")
    axis.set_title("Does merging more seen pairs help the unseen pairs?")
    axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    axis.grid(axis="y", color="#eeeeee")
    axis.set_axisbelow(True)
    save_figure(figure, *paths)


def per_language_bars(summary: pd.DataFrame, *paths: str | Path, pair_type: str = "unseen") -> None:
    """Per-language error rate with 95% intervals, bars grouped by model, one panel per pair.

    A corpus MER averages the two languages of a pair; this shows which one a model
    fails on, e.g. a merge that keeps English but loses Korean on an unseen pair.
    """
    rows = summary[
        (summary["pair_type"] == pair_type) & summary["metric"].str.startswith(LANGUAGE_METRIC_PREFIX)
    ]
    title = f"Per-language error rate on the {pair_type} pairs"
    if rows.empty:
        _message_figure(f"no per-language scores on {pair_type} pairs (no language-tagged test manifest)",
                        title, *paths)
        return
    pairs = sorted(rows["pair"].unique())
    models = model_order(rows["model"].unique())[::-1]  # top to bottom in reading order
    languages = sorted({m.removeprefix(LANGUAGE_METRIC_PREFIX) for m in rows["metric"]})
    colors = {lang: plt.get_cmap("tab10")(i % 10) for i, lang in enumerate(languages)}
    height = max(3.0, 0.3 * len(models) + 1.8)
    figure, axes = plt.subplots(1, len(pairs), figsize=(4.5 * len(pairs) + 2.5, height), sharex=True,
                                sharey=True, squeeze=False, layout="constrained")
    annotate = len(models) <= 20  # values beside the bars while they stay legible
    positions = np.arange(len(models))
    for axis, pair in zip(axes[0], pairs, strict=True):
        on_pair = rows[rows["pair"] == pair]
        pair_languages = sorted({m.removeprefix(LANGUAGE_METRIC_PREFIX) for m in on_pair["metric"]})
        width = 0.8 / len(pair_languages)
        for offset, language in enumerate(pair_languages):
            scores = on_pair[on_pair["metric"] == LANGUAGE_METRIC_PREFIX + language].set_index("model")
            scores = scores.reindex(models)
            value = scores["value"].to_numpy(dtype=float)
            error = None
            if {"ci_low", "ci_high"} <= set(scores.columns):
                low = np.clip(value - scores["ci_low"].to_numpy(dtype=float), 0, None)
                high = np.clip(scores["ci_high"].to_numpy(dtype=float) - value, 0, None)
                error = np.nan_to_num(np.vstack([low, high]))
            # The pair's first language on top within each model's group.
            bars = axis.barh(positions - (offset - (len(pair_languages) - 1) / 2) * width, value, height=width,
                             xerr=error, color=colors[language], label=language,
                             error_kw={"elinewidth": 0.6, "capsize": 1.5})
            if annotate:  # a zero error rate is a bar of no width: say so
                axis.bar_label(bars, labels=[_number(v) for v in value], fontsize=6, padding=2)
        axis.set_title(pair)
        axis.set_xlabel("error rate (95% CI)")
        axis.grid(axis="x", color="#eeeeee")
        axis.set_axisbelow(True)
        axis.legend(title="language", fontsize=7)
    axes[0][0].set_yticks(positions, models, fontsize=7)
    figure.suptitle(title)
    save_figure(figure, *paths)


FAMILY_COLORS = {"finetune": KIND_COLORS["finetune"], "merge": KIND_COLORS["merge"], "dg": KIND_COLORS["dg"]}


def answer_plot(answer: pd.DataFrame, path: str | Path, *more_paths: str | Path) -> None:
    """Per family: the seen-pair gain (light) beside the unseen-pair gain (dark), with their
    bootstrap intervals; positive is better than the base."""
    if answer.empty:
        _message_figure("no base model evaluation: no gains to show", "gain over the base", path, *more_paths)
        return
    figure, axis = plt.subplots(figsize=(8, 0.45 * len(answer) + 1.5))
    rows = np.arange(len(answer))[::-1]
    for offset, column, alpha, label in ((0.2, "seen", 0.45, "seen pairs (trained on)"),
                                         (-0.2, "unseen", 1.0, "unseen pairs")):
        values = answer[f"{column}_gain"].to_numpy(dtype=float)
        low = values - answer[f"{column}_gain_low"].to_numpy(dtype=float)
        high = answer[f"{column}_gain_high"].to_numpy(dtype=float) - values
        colors = [FAMILY_COLORS.get(kind, "#777777") for kind in answer["kind"]]
        axis.barh(rows + offset, values, height=0.38, color=colors, alpha=alpha, label=label,
                  xerr=np.vstack([low, high]), error_kw={"elinewidth": 1, "capsize": 2})
    axis.axvline(0, color="black", linewidth=0.8)
    axis.set_yticks(rows, answer["family"])
    axis.set_xlabel("MER gain over the base (base − model; 95% bootstrap interval)")
    axis.set_title("What was learned on seen pairs, and what of it reaches unseen pairs")
    axis.legend(loc="lower right", fontsize="small")
    save_figure(figure, path, *more_paths)


def draw_figures(summary: pd.DataFrame, outputs: dict[str, str], answer: pd.DataFrame | None = None) -> None:
    """Draw every figure rule `plot` declares: outputs ``NAME`` and ``NAME_pdf`` are the PNG
    and PDF of figure NAME (answer, heatmap, seen_vs_unseen, merge_scaling, per_language),
    each drawn once and saved to both; `answer` is answer.csv's table."""
    table = paper_table(summary, "mer")
    figures = {
        "answer": lambda *paths: answer_plot(answer if answer is not None else pd.DataFrame(), *paths),
        "heatmap": lambda *paths: mer_heatmap(table, *paths),
        "seen_vs_unseen": lambda *paths: seen_vs_unseen(table, *paths),
        "merge_scaling": lambda *paths: merge_scaling(table, *paths),
        "per_language": lambda *paths: per_language_bars(summary, *paths),
    }
    paths: dict[str, list[str]] = defaultdict(list)
    for name, path in outputs.items():
        paths[name.removesuffix("_pdf")].append(path)
    for name, figure_paths in paths.items():
        if name not in figures:
            raise ValueError(f"rule plot declares output {name!r}, which draw_figures cannot draw")
        figures[name](*figure_paths)
