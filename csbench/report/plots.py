"""Plots of the study (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from csbench.io import atomic_path  # noqa: E402

KIND_COLORS = {"base": "#444444", "finetune": "#1f77b4", "merge": "#d62728", "dg": "#2ca02c"}


def save_figure(figure: plt.Figure, path: str | Path) -> None:
    """Save atomically (temp file, then rename) and free the figure."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=150, bbox_inches="tight", format=Path(path).suffix.lstrip("."))
    plt.close(figure)


def mer_heatmap(table: pd.DataFrame, path: str | Path) -> None:
    """Models × pairs heatmap of an error rate, annotated with the values."""
    height = max(3.0, 0.32 * len(table) + 1.5)
    figure, axis = plt.subplots(figsize=(1.1 * len(table.columns) + 4, height))
    image = axis.imshow(table.to_numpy(dtype=float), aspect="auto", cmap="viridis_r")
    axis.set_xticks(range(len(table.columns)), table.columns, rotation=45, ha="right")
    axis.set_yticks(range(len(table.index)), table.index, fontsize=7)
    for row in range(table.shape[0]):
        for column in range(table.shape[1]):
            value = table.iat[row, column]
            axis.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=6, color="white")
    figure.colorbar(image, ax=axis, label="mixed error rate")
    axis.set_title("Mixed error rate per model and language pair")
    save_figure(figure, path)


def seen_vs_unseen(table: pd.DataFrame, path: str | Path) -> None:
    """Seen-pair average against unseen-pair average, one point per model, by kind."""
    figure, axis = plt.subplots(figsize=(6.5, 5.5))
    for model, row in table.iterrows():
        kind = str(model).split("/")[0]
        axis.scatter(row["seen avg"], row["unseen avg"], color=KIND_COLORS.get(kind, "gray"), s=28,
                     label=kind)
        if kind != "merge":
            axis.annotate(str(model).removeprefix("finetune/"), (row["seen avg"], row["unseen avg"]),
                          fontsize=6, xytext=(3, 3), textcoords="offset points")
    handles, labels = axis.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=False))
    axis.legend(unique.values(), unique.keys(), title="model kind")
    low = min(table["seen avg"].min(), table["unseen avg"].min())
    high = max(table["seen avg"].max(), table["unseen avg"].max())
    axis.plot([low, high], [low, high], color="lightgray", linestyle="--", linewidth=1)
    axis.set_xlabel("seen pairs: average mixed error rate")
    axis.set_ylabel("unseen pairs: average mixed error rate")
    axis.set_title("Does code-switching ability carry over to unseen pairs?")
    save_figure(figure, path)
