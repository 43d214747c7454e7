"""Replicates over training seeds: each configuration's spread, and whether a comparison holds
across seeds.

The bootstrap over utterances (:mod:`.scoring`) says whether a difference would survive
another draw of test utterances, with the models fixed. It says nothing about another
training run: a merge that beats the base for one seed of its fine-tunes may not for the next.
With ``seeds`` every trained model has one replicate per training seed (same data), and this
module tests each comparison over those replicates:

- against the base: d_s = MER(m@s) − MER(base@s), paired by seed, where the base is trained
  once per seed (the local base: its own spread is then in the table, as a row); against the
  one base every seed shares where it is pretrained (no seed), d_s = MER(m@s) − MER(base);
- against the best fine-tune configuration on the pair (lowest mean MER over seeds, any mode):
  d_s = MER(m@s) − MER(ft@s), paired by seed — a merge of seed s is built from the fine-tunes
  of seed s, so the pairing is the natural one.

Per comparison: the mean of d_s, a one-sided one-sample t-test of "mean d < 0" over the seeds
(``scipy.stats.ttest_1samp``; with three seeds it has two degrees of freedom, so only a large
and consistent difference reaches p < 0.05), and ``holds_all_seeds``: every d_s < 0, the
plainest statement a reader can check. Nothing here is computed with fewer than two seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from csbench.study import ModelId

#: seeds.csv's columns.
SEED_COLUMNS = [
    "configuration", "kind", "method", "mode", "members", "pair", "pair_type", "n_seeds", "mean", "sd",
    "min", "max", "diff_vs_base_mean", "p_seeds_vs_base", "holds_all_seeds_vs_base", "best_finetune",
    "diff_vs_best_finetune_mean", "p_seeds_vs_best_finetune", "holds_all_seeds_vs_best_finetune",
]


def one_sided_t(differences: list[float]) -> float:
    """p of a one-sample t-test of "mean < 0" (NaN with < 2 values or no spread)."""
    values = np.asarray(differences, dtype=float)
    if values.size < 2 or float(np.std(values)) == 0.0:
        return float("nan")
    return float(stats.ttest_1samp(values, 0.0, alternative="less").pvalue)


def seed_statistics(summary: pd.DataFrame, metric: str = "mer") -> pd.DataFrame:
    """One row per (configuration, pair): spread over seeds and the tests over seeds."""
    scores = summary[summary["metric"] == metric]
    is_base = scores["kind"] == "base"
    # A base trained per seed is a configuration like any other; a shared one a fixed reference.
    seeded_base = bool(is_base.any() and scores.loc[is_base, "seed"].notna().all())
    shared_base = scores[is_base].set_index("pair")["value"]
    rows = []
    for pair, on_pair in (scores if seeded_base else scores[~is_base]).groupby("pair", sort=True):
        by_config = {name: group.set_index("seed")["value"] for name, group in on_pair.groupby("configuration")}
        base = by_config.get(str(ModelId.base())) if seeded_base else shared_base.get(pair)
        finetunes = {name: values for name, values in by_config.items() if name.startswith("finetune/")}
        best = min(finetunes, key=lambda name: (finetunes[name].mean(), name)) if finetunes else ""
        for configuration, values in sorted(by_config.items()):
            first = on_pair[on_pair["configuration"] == configuration].iloc[0]
            itself = {"base": first["kind"] == "base", "best_finetune": configuration == best}
            row = {
                "configuration": configuration, "kind": first["kind"], "method": first["method"],
                "mode": first["mode"], "members": first["members"], "pair": pair, "pair_type": first["pair_type"],
                "n_seeds": len(values), "mean": values.mean(), "sd": values.std(ddof=1) if len(values) > 1 else math.nan,
                "min": values.min(), "max": values.max(), "best_finetune": best,
            }
            for name, reference in (("base", base), ("best_finetune", finetunes.get(best))):
                differences = _differences(values, reference)
                comparable = len(differences) > 1 and not itself[name]
                row[f"diff_vs_{name}_mean"] = float(np.mean(differences)) if comparable else math.nan
                row[f"p_seeds_vs_{name}"] = one_sided_t(differences) if comparable else math.nan
                row[f"holds_all_seeds_vs_{name}"] = bool(all(d < 0 for d in differences)) if comparable else pd.NA
            rows.append(row)
    table = pd.DataFrame(rows, columns=SEED_COLUMNS)
    for column in ("holds_all_seeds_vs_base", "holds_all_seeds_vs_best_finetune"):
        table[column] = table[column].astype("boolean")
    return table


def _differences(values: pd.Series, reference: pd.Series | float | None) -> list[float]:
    """d_s per seed: against a fixed reference (the base), or paired by seed (a fine-tune)."""
    if reference is None:
        return []
    if isinstance(reference, pd.Series):
        shared = values.index.intersection(reference.index)
        return [float(values[seed] - reference[seed]) for seed in shared]
    return [float(value - reference) for value in values]


def seeds_markdown(table: pd.DataFrame, pair_type: str = "unseen") -> str:
    """The comparisons on `pair_type` pairs that hold across seeds, as Markdown."""
    if table.empty or table["n_seeds"].max() < 2:
        return "One training seed: no spread over seeds (set `seeds` for replicates).\n"
    rows = table[(table["pair_type"] == pair_type) & (table["kind"] != "finetune")]
    lines = [
        f"Over {int(table['n_seeds'].max())} training seeds, {pair_type} pairs: MER mean ± sd; "
        "difference to the base and to the best fine-tune (mean over seeds; p: one-sided t-test over "
        "seeds; all: lower in every seed).",
        "",
        "| model | pair | MER | vs base | p | all | vs best fine-tune | p | all |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def flag(value: object) -> str:
        return "–" if pd.isna(value) else ("yes" if value else "no")

    def number(value: float, signed: bool = False) -> str:
        return "–" if pd.isna(value) else (f"{value:+.3f}" if signed else f"{value:.3f}")

    for row in rows.itertuples():
        lines.append(
            f"| {row.configuration} | {row.pair} | {row.mean:.3f} ± {number(row.sd)} | "
            f"{number(row.diff_vs_base_mean, True)} | {number(row.p_seeds_vs_base)} | "
            f"{flag(row.holds_all_seeds_vs_base)} | {number(row.diff_vs_best_finetune_mean, True)} | "
            f"{number(row.p_seeds_vs_best_finetune)} | {flag(row.holds_all_seeds_vs_best_finetune)} |"
        )
    return "\n".join(lines) + "\n"
