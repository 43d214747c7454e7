"""The study's answer in one table: per method family, how much of what was learned on the
seen pairs carries over to the unseen pairs.

For a model m and a pair p, the *gain* is MER(base, p) − MER(m, p): positive when m is better
than the base it was trained from (its own seed's where the base is trained per seed, the local
base; else the one pretrained base). Per family:

- ``seen gain``: the mean gain on the seen pairs the family's model(s) were trained on — a
  fine-tune on its own pair, a merge or DG model on its member pairs;
- ``unseen gain``: the mean gain over the unseen pairs;
- ``transfer``: unseen gain / seen gain, the share of the seen-pair improvement that reaches
  pairs never trained on (blank when the seen gain's interval contains 0).

Families: each fine-tuning mode (the mean over its single-pair fine-tunes: no fine-tune is
singled out by its test score), each merge method × mode and each DG method, the latter two
on the combination of every seen pair (the model the question is about). With several seeds
(``seeds``) the models of every seed enter the family's means, and the unseen gain of each
seed's models alone gives its spread over seeds and whether it is positive in every seed.

Intervals: a percentile bootstrap over utterances, stratified by pair: each resample draws
every pair's test utterances with replacement, with the same draw for every model on that pair
(common random numbers, as the paired tests in :mod:`.scoring`), and recomputes the means, so
the interval of a difference between the base and a model keeps their pairing.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from csbench.languages import canonical_combination
from csbench.metrics import resampling_weights
from csbench.report.scoring import ScoredRun
from csbench.study import ModelId

#: answer.csv's columns.
ANSWER_COLUMNS = [
    "family", "kind", "method", "mode", "models", "seen_gain", "seen_gain_low", "seen_gain_high",
    "unseen_gain", "unseen_gain_low", "unseen_gain_high", "transfer", "n_seeds", "unseen_gain_seed_sd",
    "unseen_gain_positive_all_seeds",
]


@dataclass(frozen=True)
class Family:
    """One row of the answer: a label and its (model id, seen pairs it was trained on)."""

    label: str
    kind: str
    method: str
    mode: str
    models: tuple[tuple[str, tuple[str, ...]], ...]


def families(model_ids: Sequence[str], seen_pairs: Sequence[str]) -> list[Family]:
    """The families the study's models form (see the module docstring), in report order."""
    everything = canonical_combination(list(seen_pairs)) if len(seen_pairs) > 1 else ""
    parsed = [(model_id, ModelId.parse(model_id)) for model_id in model_ids]
    groups: dict[tuple[str, str, str], list[tuple[str, tuple[str, ...]]]] = {}
    for model_id, model in parsed:
        if model.kind == "finetune":
            key = ("finetune", "finetune", model.mode)
        elif model.kind in ("merge", "dg") and model.combo == everything:
            key = (model.kind, model.method, model.mode)
        else:
            continue
        groups.setdefault(key, []).append((model_id, model.members))
    order = {"finetune": 0, "merge": 1, "dg": 2}
    result = []
    for (kind, method, mode), members in sorted(groups.items(), key=lambda item: (order[item[0][0]], item[0])):
        if kind == "finetune":
            label = f"fine-tune {mode} (mean of the single-pair fine-tunes)"
        elif kind == "merge":
            label = f"merge {method} {mode} (all seen pairs)"
        else:
            label = f"DG {method} (all seen pairs)"
        result.append(Family(label, kind, method, mode, tuple(sorted(members))))
    return result


def _pair_seed(seed: int, pair: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(pair.encode())) % (2**32)


def answer_table(
    runs: Sequence[ScoredRun],
    seen_pairs: Sequence[str],
    unseen_pairs: Sequence[str],
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The answer table (ANSWER_COLUMNS), one row per family; empty without a base model."""
    by_key = {(run.model, run.pair): run for run in runs}
    pairs = sorted({run.pair for run in runs})
    kinds = {model: ModelId.parse(model) for model, _ in by_key}
    bases = sorted(model for model, parsed in kinds.items() if parsed.kind == "base")
    if not bases:
        return pd.DataFrame(columns=ANSWER_COLUMNS)
    # Per pair: one bootstrap draw, shared by every model on that pair.
    weights = {pair: resampling_weights(by_key[(bases[0], pair)].n_utterances, n_resamples, _pair_seed(seed, pair))
               for pair in pairs}

    def mer(model: str, pair: str) -> tuple[float, np.ndarray]:
        counts = by_key[(model, pair)].counts["mer"]
        columns = np.array([[c.errors, c.reference_tokens] for c in counts], dtype=np.float64)
        errors, tokens = (weights[pair] @ columns).T
        point = columns[:, 0].sum() / columns[:, 1].sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            return point, errors / tokens

    def gain(model: str, pair: str) -> tuple[float, np.ndarray]:
        base_point, base_draws = mer(kinds[model].reference_base(kinds), pair)
        point, draws = mer(model, pair)
        return base_point - point, base_draws - draws

    def mean_gain(terms: list[tuple[str, str]]) -> tuple[float, np.ndarray]:
        gains = [gain(model, pair) for model, pair in terms if (model, pair) in by_key]
        if not gains:
            return float("nan"), np.full(n_resamples, np.nan)
        return float(np.mean([g[0] for g in gains])), np.mean([g[1] for g in gains], axis=0)

    alpha = (1 - confidence) / 2
    rows = []
    model_ids = sorted({model for model, _ in by_key if kinds[model].kind != "base"})
    for family in families(model_ids, seen_pairs):
        seen_terms = [(model, pair) for model, members in family.models for pair in members]
        unseen_terms = [(model, pair) for model, _ in family.models for pair in unseen_pairs]
        seen, seen_draws = mean_gain(seen_terms)
        unseen, unseen_draws = mean_gain(unseen_terms)
        seen_low, seen_high = _interval(seen_draws, alpha)
        unseen_low, unseen_high = _interval(unseen_draws, alpha)
        resolved = np.isfinite(seen_low) and (seen_low > 0 or seen_high < 0)
        replicates = sorted({ModelId.parse(model).replicate for model, _ in family.models})
        per_seed = [
            mean_gain([(model, pair) for model, pair in unseen_terms if ModelId.parse(model).replicate == rep])[0]
            for rep in replicates
        ]
        several = len(per_seed) > 1
        rows.append({
            "family": family.label, "kind": family.kind, "method": family.method, "mode": family.mode,
            "models": " ".join(model for model, _ in family.models),
            "seen_gain": seen, "seen_gain_low": seen_low, "seen_gain_high": seen_high,
            "unseen_gain": unseen, "unseen_gain_low": unseen_low, "unseen_gain_high": unseen_high,
            "transfer": unseen / seen if resolved else float("nan"), "n_seeds": len(replicates),
            "unseen_gain_seed_sd": float(np.std(per_seed, ddof=1)) if several else float("nan"),
            "unseen_gain_positive_all_seeds": bool(all(g > 0 for g in per_seed)) if several else pd.NA,
        })
    return pd.DataFrame(rows, columns=ANSWER_COLUMNS)


def _interval(draws: np.ndarray, alpha: float) -> tuple[float, float]:
    finite = draws[np.isfinite(draws)]
    if finite.size == 0:
        return float("nan"), float("nan")
    return float(np.quantile(finite, alpha)), float(np.quantile(finite, 1 - alpha))


def answer_markdown(table: pd.DataFrame, confidence: float = 0.95) -> str:
    """The answer as Markdown: gains with their intervals, then what the numbers say."""
    if table.empty:
        return "No answer table: the study has no base model evaluation.\n"
    level = round(confidence * 100)

    def cell(value: float, low: float, high: float) -> str:
        if not np.isfinite(value):
            return "–"
        return f"{value:+.3f} [{low:+.3f}, {high:+.3f}]"

    seeds = int(table["n_seeds"].max())
    lines = [
        "Gain in mixed error rate over the base (base MER − model MER; positive: better than the "
        f"base), mean over pairs, {level}% bootstrap interval over utterances in brackets. "
        "Transfer: unseen gain / seen gain."
        + (f" Over {seeds} training seeds: the unseen gain's standard deviation over seeds, and "
           "whether it is positive in every seed." if seeds > 1 else ""),
        "",
        "| family | seen-pair gain | unseen-pair gain | transfer |" + (" sd over seeds | every seed |" if seeds > 1 else ""),
        "|---|---|---|---|" + ("---|---|" if seeds > 1 else ""),
    ]
    for row in table.itertuples():
        transfer = f"{row.transfer:.2f}" if np.isfinite(row.transfer) else "–"
        line = (
            f"| {row.family} | {cell(row.seen_gain, row.seen_gain_low, row.seen_gain_high)} | "
            f"{cell(row.unseen_gain, row.unseen_gain_low, row.unseen_gain_high)} | {transfer} |"
        )
        if seeds > 1:
            sd = f"{row.unseen_gain_seed_sd:.3f}" if np.isfinite(row.unseen_gain_seed_sd) else "–"
            every = "–" if pd.isna(row.unseen_gain_positive_all_seeds) else (
                "yes" if row.unseen_gain_positive_all_seeds else "no")
            line += f" {sd} | {every} |"
        lines.append(line)
    best = table.loc[table["unseen_gain"].idxmax()] if table["unseen_gain"].notna().any() else None
    if best is not None:
        verdict = "above" if best["unseen_gain_low"] > 0 else "not resolved from"
        lines += ["", f"Largest unseen-pair gain: {best['family']}, {best['unseen_gain']:+.3f} "
                      f"({verdict} zero at {level}%)."]
    return "\n".join(lines) + "\n"
