"""Paper-style tables from the tidy summary: models × pairs, per-pair breakdowns, parquet.

Scoring lives in ``csbench.report.scoring`` (re-exported here for existing imports); this
module only reshapes and formats, so tables can be rebuilt from summary.csv alone.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import pandas as pd

from csbench.budget import examples_seen
from csbench.io import atomic_path, write_text
from csbench.report.scoring import (
    LANGUAGE_METRIC_PREFIX,
    MODEL_COLUMNS,
    describe_model,
    score_predictions,
)
from csbench.study import MODEL_KINDS, ModelId

__all__ = [
    "MODEL_COLUMNS",
    "best_per_column",
    "confidence_tables",
    "describe_model",
    "model_order",
    "paper_table",
    "per_pair_markdown",
    "score_predictions",
    "to_latex",
    "to_markdown",
    "write_parquet",
    "write_summary_outputs",
]

#: Reading order of model kinds in every table and plot.
KIND_ORDER = {kind: index for index, kind in enumerate(MODEL_KINDS)}
#: Paper-table columns that average pairs and so have no bootstrap interval of their own.
AVERAGE_COLUMNS = ("seen avg", "unseen avg")
#: A confidence interval: (low bounds, high bounds), each shaped like the paper table.
Intervals = tuple[pd.DataFrame, pd.DataFrame]


def model_order(models: list[str] | pd.Index) -> list[str]:
    """Base first, then fine-tunes, merges, DG models, each alphabetically: the reading order."""
    return sorted(models, key=lambda model: (KIND_ORDER[ModelId.parse(model).kind], str(model)))


def _pairs(scores: pd.DataFrame, pair_type: str) -> list[str]:
    return sorted(scores.loc[scores["pair_type"] == pair_type, "pair"].unique())


def _configuration(scores: pd.DataFrame) -> pd.Series:
    """Each row's model configuration (the id without its replicate; the id in old summaries)."""
    return scores["configuration"] if "configuration" in scores else scores["model"]


def paper_table(summary: pd.DataFrame, metric: str = "mer", spread: bool = False) -> pd.DataFrame:
    """Rows = model configurations; columns = each seen pair, seen average, each unseen pair,
    unseen average. A configuration trained with several seeds (``seeds``) shows the mean over
    its replicates; ``spread=True`` gives their sample standard deviation instead (NaN with
    one seed; an average column is the spread of the replicates' averages)."""
    scores = summary[summary["metric"] == metric].assign(configuration=lambda frame: _configuration(frame))
    if spread:
        return _spread_table(scores)
    wide = scores.pivot_table(index="configuration", columns="pair", values="value", aggfunc="mean")
    return _ordered(_with_averages(wide, scores))


def _spread_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Per configuration and column, the standard deviation over its training seeds."""
    per_seed = scores.pivot_table(index=["configuration", "model"], columns="pair", values="value", aggfunc="first")
    return _ordered(_with_averages(per_seed, scores).groupby(level="configuration").std(ddof=1))


def _with_averages(wide: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """The paper table's columns: each seen pair, their average, each unseen pair, theirs."""
    seen, unseen = _pairs(scores, "seen"), _pairs(scores, "unseen")
    table = pd.DataFrame(index=wide.index)
    for pair in seen:
        table[pair] = wide[pair]
    table["seen avg"] = wide[seen].mean(axis=1) if seen else float("nan")
    for pair in unseen:
        table[pair] = wide[pair]
    table["unseen avg"] = wide[unseen].mean(axis=1) if unseen else float("nan")
    return table


def _ordered(table: pd.DataFrame) -> pd.DataFrame:
    """Rows in the report's model order, the index named "model"."""
    table = table.loc[model_order(table.index)]
    table.index.name = "model"
    return table


def n_seeds(summary: pd.DataFrame) -> int:
    """How many training seeds the study's trained models have (1 without ``seeds``)."""
    trained = summary[summary["kind"] != "base"]
    return int(trained["seed"].nunique()) if "seed" in trained and len(trained) else 1


def confidence_tables(summary: pd.DataFrame, table: pd.DataFrame, metric: str = "mer") -> Intervals:
    """Bootstrap bounds (``ci_low``, ``ci_high``) laid out like ``table``; averages stay empty.

    An average over pairs has no interval here: the pairs' intervals cannot be combined
    into one without the per-utterance counts, and a wrong interval is worse than none.
    """
    scores = summary[summary["metric"] == metric]
    if "configuration" in scores:  # with several seeds: the intervals of the study-seed replicate
        scores = scores[scores["model"] == scores["configuration"]].assign(model=lambda frame: frame["configuration"])
    bounds = []
    for column in ("ci_low", "ci_high"):
        if column not in scores:
            bounds.append(pd.DataFrame(float("nan"), index=table.index, columns=table.columns))
            continue
        wide = scores.pivot_table(index="model", columns="pair", values=column, aggfunc="first", dropna=False)
        bounds.append(wide.reindex(index=table.index, columns=table.columns).astype(float))
    return bounds[0], bounds[1]


def best_per_column(table: pd.DataFrame) -> dict[str, list[str]]:
    """Per column, every model with the lowest error (all of them when tied)."""
    best: dict[str, list[str]] = {}
    for column in table.columns:
        values = table[column].astype(float)
        if values.notna().any():
            best[column] = [str(model) for model in values.index[values == values.min()]]
    return best


def _number(value: float) -> str:
    """Three decimals (rates in [0, 1]); an en dash for a missing value, never "nan"."""
    return "–" if pd.isna(value) else f"{value:.3f}"


def _cells(
    table: pd.DataFrame, ci: Intervals | None, bold: str, interval: str,
    spread: pd.DataFrame | None = None, plus_minus: str = " ± {}",
) -> pd.DataFrame:
    """Formatted strings: value (± its spread over seeds, with its interval when given), best
    per column in bold.

    ``bold``, ``interval`` and ``plus_minus`` are format strings, so Markdown and LaTeX share
    one layout.
    """
    best = best_per_column(table)
    cells = pd.DataFrame(index=table.index, columns=table.columns, dtype=object)
    for column in table.columns:
        for model, value in table[column].items():
            text = _number(value)
            if str(model) in best.get(column, []):
                text = bold.format(text)
            if spread is not None and model in spread.index and not pd.isna(spread.at[model, column]):
                text += plus_minus.format(_number(spread.at[model, column]))
            if ci is not None and not math.isnan(ci[0].at[model, column]):
                low, high = ci[0].at[model, column], ci[1].at[model, column]
                text += interval.format(_number(low), _number(high))
            cells.at[model, column] = text
    return cells


def to_markdown(
    table: pd.DataFrame, metric: str = "mer", ci: Intervals | None = None,
    spread: pd.DataFrame | None = None, seeds: int = 1,
) -> str:
    """Markdown with the best value per column in bold; with ``ci``, ``0.412 [0.380, 0.450]``;
    with ``spread`` (several seeds), ``0.412 ± 0.013``."""
    cells = _cells(table, ci, "**{}**", " [{}, {}]", spread)
    title = f"{metric.upper()} (lower is better; best per column in bold"
    if spread is not None and seeds > 1:
        title += f"; mean ± standard deviation over {seeds} training seeds"
    if ci is not None:
        title += "; 95% bootstrap interval over utterances in brackets, none for averages"
        if seeds > 1:
            title += " (intervals: the study-seed replicate)"
    return title + ")\n\n" + _markdown(cells) + "\n"


def _markdown(cells: pd.DataFrame) -> str:
    """Markdown of pre-formatted cells: model names left, numbers right, no re-parsing.

    tabulate would otherwise parse "0.400" back into a float and print it as "0.4".
    """
    return cells.to_markdown(disable_numparse=True, colalign=("left",) + ("right",) * len(cells.columns))


def _latex_escape(text: str) -> str:
    return text.replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")


def to_latex(
    table: pd.DataFrame, metric: str = "mer", ci: Intervals | None = None,
    spread: pd.DataFrame | None = None, seeds: int = 1,
) -> str:
    """A booktabs LaTeX table, best value per column in bold, optional intervals and spreads."""
    cells = _cells(table, ci, r"\textbf{{{}}}", r" {{\scriptsize[{}, {}]}}", spread, r" {{\scriptsize$\pm${}}}")
    cells.index = [_latex_escape(str(name)) for name in cells.index]
    cells.columns.name = "model"  # one header row: "model" above the model names
    caption = f"{metric.upper()} per model and language pair (lower is better)."
    if spread is not None and seeds > 1:
        caption += f" Mean $\\pm$ standard deviation over {seeds} training seeds."
    if ci is not None:
        caption += " Brackets: 95\\% bootstrap confidence interval over utterances."
    return cells.style.to_latex(
        column_format="l" + "r" * len(cells.columns),
        hrules=True,
        caption=caption,
        label=f"tab:csbench-{metric}{'-ci' if ci is not None else ''}",
        position_float="centering",
    )


def _p_value(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.3f}"


def per_pair_markdown(summary: pd.DataFrame, n_resamples: int = 1000) -> str:
    """One Markdown section per pair: every metric per model, MER with interval and p-values.

    The paper table shows one number per cell; this is where a reader checks *why*: which
    language of the pair a model fails on (error_rate_<lang>), whether it fails on the
    switched words (PIER), whether it writes the wrong script, and whether a difference is
    significant.
    """
    lines = [
        "# Per-pair breakdown",
        "",
        "Corpus-level rates (lower is better; best MER per pair in bold). MER 95% CI: percentile "
        f"bootstrap over utterances ({n_resamples} resamples). p vs base / p vs best FT: paired "
        "bootstrap p-value for \"this model's MER is lower\" (one-sided; 0.000 means no resample "
        "favoured the other model). error_rate_xx: edits charged to language xx per xx token. "
        "script_confusion: share of hypothesis letter tokens in a script of neither language. "
        "language_swap: share of reference tokens substituted by a token in the other language's script.",
        "",
    ]
    pair_types = summary.drop_duplicates("pair").set_index("pair")["pair_type"]
    pairs = sorted(pair_types.index, key=lambda pair: (pair_types[pair] != "seen", pair))
    for pair in pairs:
        rows = summary[summary["pair"] == pair]
        values = rows.pivot_table(index="model", columns="metric", values="value", aggfunc="first")
        values = values.loc[model_order(values.index)]
        mer = rows[rows["metric"] == "mer"].set_index("model").reindex(values.index)
        best = values["mer"].min() if "mer" in values else float("nan")
        table = pd.DataFrame(index=values.index)
        table.index.name = "model"
        if "mer" in values:
            table["MER"] = [f"**{_number(v)}**" if v == best else _number(v) for v in values["mer"]]
            if {"ci_low", "ci_high"} <= set(mer.columns):
                table["MER 95% CI"] = [
                    "" if pd.isna(low) else f"[{_number(low)}, {_number(high)}]"
                    for low, high in zip(mer["ci_low"], mer["ci_high"], strict=True)
                ]
            for column, label in (("p_vs_base", "p vs base"), ("p_vs_best_finetune", "p vs best FT")):
                if column in mer.columns:
                    table[label] = [_p_value(v) for v in mer[column]]
        languages = sorted(m for m in values.columns if m.startswith(LANGUAGE_METRIC_PREFIX))
        for metric in ["wer", "cer", "pier", *languages, "script_confusion", "language_swap"]:
            if metric in values:
                table[metric] = [_number(v) for v in values[metric]]
        best_finetune = ""
        if "best_finetune" in mer.columns and mer["best_finetune"].notna().any():
            best_finetune = f"; best single-pair fine-tune: `{mer['best_finetune'].dropna().iloc[0]}`"
        n_utterances = int(rows["n_utterances"].max())
        lines += [
            f"## {pair} ({pair_types[pair]} pair; {n_utterances} utterances{best_finetune})",
            "",
            _markdown(table),
            "",
        ]
    return "\n".join(lines)


def write_parquet(summary: pd.DataFrame, path: str | Path) -> bool:
    """Write ``summary`` as Parquet when pyarrow is installed; False (and nothing) otherwise.

    Parquet keeps dtypes (no float round-trip through text) for analysis at scale, but it
    is optional: csbench does not depend on pyarrow, so without it the CSV is the table.
    """
    if importlib.util.find_spec("pyarrow") is None:
        return False
    with atomic_path(path) as temporary:
        summary.to_parquet(temporary, index=False, engine="pyarrow")
    return True


def with_examples_seen(summary: pd.DataFrame, config: dict[str, Any]) -> pd.DataFrame:
    """summary.csv plus ``examples_seen``: the seen-pair training utterances behind each model
    (`csbench.budget.examples_seen`, summed over its pairs; 0 for the base)."""
    totals = {model: sum(examples_seen(config, ModelId.parse(model)).values())
              for model in summary["model"].unique()}
    return summary.assign(examples_seen=summary["model"].map(totals).astype(int))


def write_summary_outputs(
    summary: pd.DataFrame, outputs: dict[str, str], n_resamples: int, note: str = "",
    answer: pd.DataFrame | None = None,
) -> None:
    """Write every table rule `summarize` declares, by output name (summary, parquet,
    markdown, latex, markdown_ci, latex_ci, per_pair, answer, answer_markdown, seeds,
    seeds_markdown): a table is added by declaring it in rules/report.smk and giving it a
    writer here. `note` (the data budget, `csbench.budget.budget_note`) closes the Markdown
    tables; `answer` is `csbench.report.answer.answer_table`'s."""
    from csbench.report.answer import answer_markdown
    from csbench.report.seeds import seed_statistics, seeds_markdown

    seed_table = seed_statistics(summary)
    table = paper_table(summary, "mer")
    intervals = confidence_tables(summary, table, "mer")
    seeds = n_seeds(summary)
    spread = paper_table(summary, "mer", spread=True) if seeds > 1 else None
    footer = f"\n{note}\n" if note else ""
    texts = {
        "markdown": lambda: to_markdown(table, "mer", spread=spread, seeds=seeds) + footer,
        "latex": lambda: to_latex(table, "mer", spread=spread, seeds=seeds),
        "markdown_ci": lambda: to_markdown(table, "mer", ci=intervals, seeds=seeds) + footer,
        "latex_ci": lambda: to_latex(table, "mer", ci=intervals, seeds=seeds),
        "per_pair": lambda: per_pair_markdown(summary, n_resamples),
        "answer_markdown": lambda: answer_markdown(answer) + footer,
        "seeds_markdown": lambda: seeds_markdown(seed_table),
    }
    frames = {"summary": summary, "answer": answer, "seeds": seed_table}
    for name, path in outputs.items():
        if name in frames:
            if frames[name] is None:
                raise ValueError(f"rule summarize declares output {name!r} but no table was given")
            with atomic_path(path) as temporary:
                frames[name].to_csv(temporary, index=False, float_format="%.6f")
        elif name == "parquet":
            write_parquet(summary, path)
        elif name in texts:
            write_text(path, texts[name]())
        else:
            raise ValueError(f"rule summarize declares output {name!r}, which write_summary_outputs cannot write")
