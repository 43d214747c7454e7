"""Score raw predictions into a tidy table and a paper-style table.

Scoring happens here, not at decoding time, so a change of normalization or a new metric
re-scores stored predictions without decoding again (Open ASR Leaderboard practice).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from csbench.metrics import character_error_rate, mixed_error_rate, word_error_rate

METRICS = {"mer": mixed_error_rate, "wer": word_error_rate, "cer": character_error_rate}
MODEL_COLUMNS = ["model", "kind", "method", "mode", "members", "n_members"]


def describe_model(model_id: str) -> dict[str, object]:
    """Split a model id (base, finetune/MODE/PAIR, merge/METHOD/MODE/COMBO) into columns."""
    kind, *rest = model_id.split("/")
    if kind == "base":
        return {"model": model_id, "kind": "base", "method": "zero-shot", "mode": "", "members": "",
                "n_members": 0}
    if kind == "finetune":
        mode, pair = rest
        return {"model": model_id, "kind": "finetune", "method": "finetune", "mode": mode,
                "members": pair, "n_members": 1}
    if kind == "merge":
        method, mode, combo = rest
        return {"model": model_id, "kind": "merge", "method": method, "mode": mode,
                "members": combo, "n_members": combo.count("+") + 1}
    if kind == "dg":
        method, combo = rest
        return {"model": model_id, "kind": "dg", "method": method, "mode": "full",
                "members": combo, "n_members": combo.count("+") + 1}
    raise ValueError(f"unknown model id {model_id!r}")


def score_predictions(prediction_files: list[str | Path], seen_pairs: list[str]) -> pd.DataFrame:
    """One row per model × pair × metric with the model's and pair's descriptors."""
    rows = []
    for path in prediction_files:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        references = [u["reference"] for u in data["utterances"]]
        hypotheses = [u["hypothesis"] for u in data["utterances"]]
        described = describe_model(data["model"])
        for metric, function in METRICS.items():
            rows.append(
                {
                    **described,
                    "pair": data["pair"],
                    "pair_type": "seen" if data["pair"] in seen_pairs else "unseen",
                    "metric": metric,
                    "value": function(references, hypotheses),
                    "n_utterances": len(references),
                    "rtfx": data["timing"]["rtfx"],
                    "language_mode": data["language_mode"],
                }
            )
    return pd.DataFrame(rows).sort_values(["kind", "model", "pair", "metric"], kind="stable")


def paper_table(summary: pd.DataFrame, metric: str = "mer") -> pd.DataFrame:
    """Rows = models; columns = each seen pair, seen average, each unseen pair, unseen average."""
    scores = summary[summary["metric"] == metric]
    wide = scores.pivot_table(index="model", columns="pair", values="value", aggfunc="first")
    seen = sorted(scores.loc[scores["pair_type"] == "seen", "pair"].unique())
    unseen = sorted(scores.loc[scores["pair_type"] == "unseen", "pair"].unique())
    table = pd.DataFrame(index=wide.index)
    for pair in seen:
        table[pair] = wide[pair]
    table["seen avg"] = wide[seen].mean(axis=1) if seen else float("nan")
    for pair in unseen:
        table[pair] = wide[pair]
    table["unseen avg"] = wide[unseen].mean(axis=1) if unseen else float("nan")
    order = {"base": 0, "finetune": 1, "merge": 2, "dg": 3}
    table = table.loc[sorted(table.index, key=lambda m: (order.get(m.split("/")[0], 9), m))]
    table.index.name = "model"
    return table


def best_per_column(table: pd.DataFrame) -> dict[str, str]:
    """The model with the lowest error per column (ties: first in table order)."""
    return {column: table[column].idxmin() for column in table.columns if table[column].notna().any()}


def to_markdown(table: pd.DataFrame, metric: str = "mer") -> str:
    """Markdown with the best value per column in bold."""
    best = best_per_column(table)
    formatted = table.copy().astype(object)
    for column in table.columns:
        formatted[column] = [
            f"**{value:.3f}**" if model == best.get(column) else f"{value:.3f}"
            for model, value in table[column].items()
        ]
    title = f"{metric.upper()} (lower is better; best per column in bold)\n\n"
    return title + formatted.to_markdown() + "\n"


def to_latex(table: pd.DataFrame, metric: str = "mer") -> str:
    """A booktabs LaTeX table with the best value per column in bold."""
    best = best_per_column(table)
    escaped = table.copy()
    escaped.index = [name.replace("_", r"\_") for name in table.index]
    styler = escaped.style.format("{:.3f}")
    for column, model in best.items():
        styler = styler.map(
            lambda _v: "textbf:--rwrap;", subset=pd.IndexSlice[[model.replace("_", r"\_")], [column]]
        )
    return styler.to_latex(
        hrules=True,
        caption=f"{metric.upper()} per model and language pair (lower is better).",
        label=f"tab:csbench-{metric}",
        position_float="centering",
    )
