"""Layer-wise analysis of the seen-pair task vectors: where fine-tuning moved the model.

Code-switching adaptation was reported to concentrate in the higher encoder and decoder
layers; per-layer norms show where each pair's fine-tune changed the base, and pairwise
cosines show where merging them would interfere (near 0: orthogonal, < 0: conflicting).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from csbench.report.plots import plt, save_figure


def layer_order(layer: str) -> tuple[int, int, str]:
    """Encoder before decoder, then by layer index, so plots read bottom-up through the model."""
    stack = 0 if ".encoder" in layer else 1 if ".decoder" in layer else 2
    digits = [part for part in layer.split(".") if part.isdigit()]
    return stack, int(digits[-1]) if digits else -1, layer


def plot_layer_statistics(table: pd.DataFrame, path: str | Path, title: str) -> None:
    """Two panels: per-layer task-vector norm per pair, and per-layer pairwise cosine."""
    layers = sorted(table["layer"].unique(), key=layer_order)
    figure, (norm_axis, cosine_axis) = plt.subplots(1, 2, figsize=(12, 0.3 * len(layers) + 2.5), sharey=True)
    positions = range(len(layers))
    norms = table[table["statistic"] == "l2_norm"]
    for member, rows in norms.groupby("member"):
        values = rows.set_index("layer").reindex(layers)["value"]
        norm_axis.plot(values.to_numpy(), positions, marker="o", label=str(member))
    norm_axis.set_yticks(list(positions), layers, fontsize=7)
    norm_axis.set_xlabel("task-vector L2 norm")
    norm_axis.legend(fontsize=7)
    cosines = table[table["statistic"] == "cosine"]
    for (first, second), rows in cosines.groupby(["member_a", "member_b"]):
        values = rows.set_index("layer").reindex(layers)["value"]
        cosine_axis.plot(values.to_numpy(), positions, marker="o", label=f"{first} · {second}")
    cosine_axis.axvline(0, color="lightgray", linewidth=1)
    cosine_axis.set_xlabel("cosine similarity between pairs' task vectors")
    cosine_axis.legend(fontsize=7)
    figure.suptitle(title)
    save_figure(figure, path)
