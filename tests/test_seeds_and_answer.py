"""Replicates over training seeds and the answer table, on hand-made scores with known results."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from csbench.metrics import ErrorCounts
from csbench.report.answer import answer_markdown, answer_table, families
from csbench.report.scoring import ScoredRun, summary_rows
from csbench.report.seeds import one_sided_t, seed_statistics, seeds_markdown
from csbench.report.tables import paper_table
from csbench.study import ModelId, StudyPlan, replicate_of, seed_of, training_seeds


def test_replicate_ids_round_trip_and_share_a_configuration() -> None:
    config = {"seed": 0, "seeds": [0, 3]}
    assert training_seeds(config) == [0, 3] and training_seeds({"seed": 5}) == [5]
    assert replicate_of(0, config) == "" and replicate_of(3, config) == "@3"
    assert seed_of("@3", config) == 3 and seed_of("", config) == 0
    for text in ("finetune/full/en-ko@3", "merge/ties/lora/de-en+en-ko@3", "dg/erm/de-en+en-ko@12", "dg/erm/de-en+en-ko"):
        model = ModelId.parse(text)
        assert str(model) == text
        assert model.configuration == text.partition("@")[0]
    merge = ModelId.parse("merge/ties/full/de-en+en-ko@3")
    assert merge.member_checkpoints() == ["results/finetune/full/de-en@3", "results/finetune/full/en-ko@3"]
    assert merge.checkpoint() == "results/merge/ties/full/de-en+en-ko@3.json"
    with pytest.raises(ValueError, match="@ followed by the training seed"):
        ModelId.parse("finetune/full/en-ko@x")
    base = ModelId.parse("base@1")
    assert str(base) == "base@1" and base.kind == "base" and base.configuration == "base"
    assert base.checkpoint() is None
    with pytest.raises(ValueError, match="unknown model id"):
        ModelId.parse("base/x@1")


def plan_config(base_model: str) -> dict:
    return {"seed": 0, "seeds": [0, 1, 2], "seen_pairs": ["ko-en", "ja-en"], "unseen_pairs": ["ko-ja"],
            "base_model": base_model, "finetune": {"modes": ["full"]}, "merge": {"methods": ["ties"]},
            "dg": {"methods": ["erm"]}, "languages": ["en", "ko", "ja"]}


def test_plan_trains_every_model_and_the_local_base_once_per_seed() -> None:
    plan = StudyPlan.from_config(plan_config("local-tiny"))
    models = [str(model) for model in plan.models()]
    assert [model for model in models if model.startswith("base")] == ["base", "base@1", "base@2"]
    assert {"finetune/full/en-ko", "finetune/full/en-ko@1", "finetune/full/en-ko@2"} <= set(models)
    assert len(models) == 3 * (1 + 2 + 1 + 1)
    # Each seed's models load their own seed's base; the study seed's keeps its unsuffixed path.
    assert plan.base_path("") == "results/base/local-tiny" and plan.base_path("@2") == "results/base/local-tiny@2"
    assert ModelId.parse("dg/erm/en-ja+en-ko@2").reference_base(models) == "base@2"


def test_a_pretrained_base_is_one_model_every_seed_shares(tmp_path) -> None:
    plan = StudyPlan.from_config(plan_config(str(tmp_path)))  # a local save_pretrained folder
    models = [str(model) for model in plan.models()]
    assert models.count("base") == 1 and not any(model.startswith("base@") for model in models)
    assert len(models) == 1 + 3 * (2 + 1 + 1)
    assert plan.base_path("@2") == plan.base_path("") == str(tmp_path)
    assert ModelId.parse("dg/erm/en-ja+en-ko@2").reference_base(models) == "base"


def run(model: str, pair: str, errors: list[int], tokens: int = 10) -> ScoredRun:
    scored = ScoredRun(model, pair, len(errors), 1.0, "matrix")
    scored.counts["mer"] = [ErrorCounts(substitutions=e, reference_tokens=tokens) for e in errors]
    return scored


def test_answer_gains_are_base_minus_model_averaged_over_the_right_pairs() -> None:
    seen, unseen = ["en-ja", "en-ko"], ["ja-ko"]
    n = 20
    runs = [run("base", pair, [5] * n) for pair in (*seen, *unseen)]  # base MER 0.5 everywhere
    runs += [run("finetune/full/en-ja", "en-ja", [1] * n), run("finetune/full/en-ja", "en-ko", [5] * n),
             run("finetune/full/en-ja", "ja-ko", [4] * n),
             run("finetune/full/en-ko", "en-ja", [5] * n), run("finetune/full/en-ko", "en-ko", [3] * n),
             run("finetune/full/en-ko", "ja-ko", [5] * n),
             run("merge/ties/full/en-ja+en-ko", "en-ja", [2] * n), run("merge/ties/full/en-ja+en-ko", "en-ko", [2] * n),
             run("merge/ties/full/en-ja+en-ko", "ja-ko", [3] * n)]
    table = answer_table(runs, seen, unseen, n_resamples=200, seed=0).set_index("kind")
    # Fine-tunes: own-pair gains 0.4 (en-ja) and 0.2 (en-ko) → 0.3; unseen 0.1 and 0.0 → 0.05.
    assert math.isclose(table.at["finetune", "seen_gain"], 0.3)
    assert math.isclose(table.at["finetune", "unseen_gain"], 0.05)
    assert math.isclose(table.at["finetune", "transfer"], 0.05 / 0.3)
    # The merge: 0.3 on both members, 0.2 on the unseen pair.
    assert math.isclose(table.at["merge", "seen_gain"], 0.3) and math.isclose(table.at["merge", "unseen_gain"], 0.2)
    # Constant per-utterance errors: every resample gives the point estimate.
    assert math.isclose(table.at["merge", "unseen_gain_low"], 0.2) and math.isclose(table.at["merge", "unseen_gain_high"], 0.2)
    assert table.at["merge", "n_seeds"] == 1 and pd.isna(table.at["merge", "unseen_gain_positive_all_seeds"])
    text = answer_markdown(answer_table(runs, seen, unseen, n_resamples=200, seed=0))
    assert "Largest unseen-pair gain: merge ties full (all seen pairs), +0.200 (above zero" in text


def test_answer_interval_is_paired_over_utterances() -> None:
    """The base and the model are resampled together: a model that is uniformly 0.1 better
    has a degenerate interval at 0.1 even though each utterance's MER varies."""
    rng = np.random.default_rng(1)
    base_errors = [int(v) for v in rng.integers(2, 9, 40)]
    runs = [run("base", "en-ko", base_errors), run("base", "ja-ko", base_errors),
            run("finetune/full/en-ko", "en-ko", [e - 1 for e in base_errors]),
            run("finetune/full/en-ko", "ja-ko", [e - 1 for e in base_errors])]
    table = answer_table(runs, ["en-ko"], ["ja-ko"], n_resamples=300, seed=4)
    assert math.isclose(table.loc[0, "unseen_gain_low"], 0.1) and math.isclose(table.loc[0, "unseen_gain_high"], 0.1)


def test_families_skip_merges_of_fewer_than_all_seen_pairs() -> None:
    ids = ["merge/ties/full/de-en+en-ko", "merge/ties/full/de-en+en-ja+en-ko", "dg/erm/de-en+en-ja+en-ko@1"]
    found = families(ids, ["de-en", "en-ja", "en-ko"])
    assert [f.label for f in found] == ["merge ties full (all seen pairs)", "DG erm (all seen pairs)"]


def summary_of(rows: list[tuple[str, int | None, str, float]]) -> pd.DataFrame:
    """A minimal summary: (model, seed, pair, MER)."""
    records = []
    for model, seed, pair, value in rows:
        parsed = ModelId.parse(model)
        records.append({**parsed.columns(), "seed": seed, "pair": pair, "metric": "mer", "value": value,
                        "pair_type": "unseen" if pair == "ja-ko" else "seen"})
    frame = pd.DataFrame(records)
    frame["seed"] = frame["seed"].astype("Int64")
    return frame


def test_seed_statistics_spread_and_tests_over_seeds() -> None:
    summary = summary_of([
        ("base", None, "ja-ko", 0.80),
        ("finetune/full/en-ko", 0, "ja-ko", 0.70), ("finetune/full/en-ko@1", 1, "ja-ko", 0.72),
        ("finetune/full/en-ko@2", 2, "ja-ko", 0.74),
        ("merge/ties/full/en-ja+en-ko", 0, "ja-ko", 0.60), ("merge/ties/full/en-ja+en-ko@1", 1, "ja-ko", 0.75),
        ("merge/ties/full/en-ja+en-ko@2", 2, "ja-ko", 0.62),
    ])
    table = seed_statistics(summary).set_index("configuration")
    merge = table.loc["merge/ties/full/en-ja+en-ko"]
    assert merge["n_seeds"] == 3 and math.isclose(merge["mean"], (0.60 + 0.75 + 0.62) / 3)
    assert math.isclose(merge["sd"], float(np.std([0.60, 0.75, 0.62], ddof=1)))
    assert math.isclose(merge["diff_vs_base_mean"], (0.60 + 0.75 + 0.62) / 3 - 0.80)
    assert bool(merge["holds_all_seeds_vs_base"])
    # Paired by seed with the fine-tune: −0.10, +0.03, −0.12 → not in every seed.
    assert merge["best_finetune"] == "finetune/full/en-ko"
    assert math.isclose(merge["diff_vs_best_finetune_mean"], (-0.10 + 0.03 - 0.12) / 3)
    assert not bool(merge["holds_all_seeds_vs_best_finetune"])
    assert math.isclose(merge["p_seeds_vs_best_finetune"], one_sided_t([-0.10, 0.03, -0.12]))
    assert pd.isna(table.loc["finetune/full/en-ko", "p_seeds_vs_best_finetune"])  # not against itself
    assert "| merge/ties/full/en-ja+en-ko | ja-ko | 0.657 ±" in seeds_markdown(seed_statistics(summary))
    # The paper table: one row per configuration, mean over seeds; the spread table its sd.
    means, spreads = paper_table(summary), paper_table(summary, spread=True)
    assert math.isclose(means.at["merge/ties/full/en-ja+en-ko", "ja-ko"], (0.60 + 0.75 + 0.62) / 3)
    assert math.isclose(spreads.at["finetune/full/en-ko", "ja-ko"], 0.02)


def test_a_base_trained_per_seed_is_compared_paired_by_seed_and_has_its_own_spread() -> None:
    summary = summary_of([
        ("base", 0, "ja-ko", 0.80), ("base@1", 1, "ja-ko", 0.90), ("base@2", 2, "ja-ko", 0.70),
        ("finetune/full/en-ko", 0, "ja-ko", 0.75), ("finetune/full/en-ko@1", 1, "ja-ko", 0.85),
        ("finetune/full/en-ko@2", 2, "ja-ko", 0.72),
    ])
    table = seed_statistics(summary).set_index("configuration")
    base = table.loc["base"]
    assert base["n_seeds"] == 3 and math.isclose(base["sd"], 0.10) and pd.isna(base["diff_vs_base_mean"])
    finetune = table.loc["finetune/full/en-ko"]
    # Paired by seed: −0.05, −0.05, +0.02 (against a shared base 0.80 it would be −0.05, +0.05, −0.08).
    assert math.isclose(finetune["diff_vs_base_mean"], (-0.05 - 0.05 + 0.02) / 3)
    assert not bool(finetune["holds_all_seeds_vs_base"])
    assert math.isclose(finetune["p_seeds_vs_base"], one_sided_t([-0.05, -0.05, 0.02]))
    assert math.isclose(paper_table(summary).at["base", "ja-ko"], 0.80)  # the mean over the seeds' bases


def test_answer_gains_are_against_each_seeds_own_base() -> None:
    seen, unseen = ["en-ko"], ["ja-ko"]
    n = 10
    runs = [run("base", pair, [5] * n) for pair in (*seen, *unseen)]
    runs += [run("base@1", pair, [8] * n) for pair in (*seen, *unseen)]  # seed 1's base: MER 0.8
    runs += [run("finetune/full/en-ko", pair, [3] * n) for pair in (*seen, *unseen)]
    runs += [run("finetune/full/en-ko@1", pair, [7] * n) for pair in (*seen, *unseen)]
    row = answer_table(runs, seen, unseen, n_resamples=100, seed=0).iloc[0]
    # Seed 0 gains 0.2, seed 1 gains 0.1 over its own base (against seed 0's it would lose 0.2).
    assert row["family"].startswith("fine-tune full") and row["n_seeds"] == 2
    assert math.isclose(row["seen_gain"], 0.15) and math.isclose(row["unseen_gain"], 0.15)
    assert bool(row["unseen_gain_positive_all_seeds"])


def test_summary_tests_each_model_against_its_own_seeds_base() -> None:
    n = 30
    runs = [run("base", "ja-ko", [5] * n), run("base@1", "ja-ko", [2] * n),
            run("finetune/full/en-ko", "ja-ko", [4] * n), run("finetune/full/en-ko@1", "ja-ko", [4] * n)]
    mer = summary_rows(runs, ["en-ko"], n_resamples=200, seed=0).set_index("model")
    assert mer.loc["finetune/full/en-ko", "p_vs_base"] < 0.05  # 0.4 against its base's 0.5
    assert mer.loc["finetune/full/en-ko@1", "p_vs_base"] == 1.0  # 0.4 against its base's 0.2
    assert math.isclose(mer.loc["finetune/full/en-ko@1", "diff_vs_base_low"], 0.2)
    assert mer.loc["base", "seed"] == 0 and mer.loc["base@1", "seed"] == 1  # bases trained per seed
    shared = summary_rows(runs[:1] + runs[2:], ["en-ko"], n_resamples=200, seed=0).set_index("model")
    assert pd.isna(shared.loc["base", "seed"])  # one base every seed shares: no seed


def test_one_sided_t_matches_the_closed_form() -> None:
    values = [-0.1, -0.2, -0.15]
    t = np.mean(values) / (np.std(values, ddof=1) / math.sqrt(3))
    # Two degrees of freedom: P(T < t) = 1/2 + t / (2 sqrt(2 + t²)).
    assert math.isclose(one_sided_t(values), 0.5 + t / (2 * math.sqrt(2 + t * t)), rel_tol=1e-9)
    assert math.isnan(one_sided_t([-0.1])) and math.isnan(one_sided_t([-0.1, -0.1]))
