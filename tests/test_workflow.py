"""The real workflow, end to end: Snakemake as a subprocess on the micro config."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workflow_utils import REPO, planned_jobs

MICRO = REPO / "tests" / "configs" / "micro.yaml"

pytestmark = pytest.mark.workflow


def expected_models(config: dict) -> set[str]:
    from csbench.languages import all_combinations, canonical_pair

    seen = sorted(canonical_pair(p) for p in config["seen_pairs"])
    models = {"base"}
    models |= {f"finetune/{mode}/{pair}" for mode in config["finetune"]["modes"] for pair in seen}
    models |= {
        f"merge/{method}/{mode}/{combo}"
        for method in config["merge"]["methods"]
        for mode in config["finetune"]["modes"]
        for combo in all_combinations(seen)
    }
    models |= {f"dg/{method}/{'+'.join(seen)}" for method in config["dg"]["methods"]}
    return models


def test_summary_has_every_model_on_every_pair(micro_study: Path) -> None:
    config = yaml.safe_load(MICRO.read_text())
    summary = pd.read_csv(micro_study / "results/tables/summary.csv")
    pairs = {"en-ko", "en-ja", "ja-ko"}  # micro: seen en-ko, en-ja; unseen ja-ko
    expected = {(model, pair) for model in expected_models(config) for pair in pairs}
    mer = summary[summary["metric"] == "mer"]
    assert set(zip(mer["model"], mer["pair"], strict=True)) == expected
    assert len(mer) == len(expected)
    assert all(math.isfinite(value) for value in mer["value"])
    assert set(mer.loc[mer["pair"] == "ja-ko", "pair_type"]) == {"unseen"}
    assert set(mer.loc[mer["pair"] != "ja-ko", "pair_type"]) == {"seen"}
    merges = mer[mer["kind"] == "merge"]
    assert set(merges["members"]) == {"en-ja+en-ko"}


def test_merge_grid_search_reads_only_the_merged_pairs_dev_sets(micro_study: Path) -> None:
    import json

    recipe = json.loads((micro_study / "results/merge/task_arithmetic/full/en-ja+en-ko.json").read_text())
    assert recipe["dev_sets"] == ["results/data/pairs/en-ja/dev.jsonl", "results/data/pairs/en-ko/dev.jsonl"]
    assert [entry["hyperparameters"]["scaling"] for entry in recipe["grid"]] == [0.5, 1.0]
    best = min(recipe["grid"], key=lambda entry: entry["dev_mer"])
    assert recipe["hyperparameters"] == best["hyperparameters"]
    assert not (micro_study / "results/data/pairs/ja-ko/dev.jsonl").exists()
    ties = json.loads((micro_study / "results/merge/ties/full/en-ja+en-ko.json").read_text())
    assert ties["selection"] == "config" and ties["hyperparameters"] == {"scaling": 1.0, "density": 0.5}


def test_tables_and_plots_are_written(micro_study: Path) -> None:
    markdown = (micro_study / "results/tables/paper_table.md").read_text()
    assert "seen avg" in markdown and "unseen avg" in markdown and "**" in markdown
    latex = (micro_study / "results/tables/paper_table.tex").read_text()
    assert "\\begin{tabular}" in latex and "\\textbf" in latex
    for plot in ("mer_heatmap.png", "seen_vs_unseen.png", "task_vectors_full.png", "task_vectors_lora.png"):
        data = (micro_study / "results/plots" / plot).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000


def test_rule_logs_show_progress_and_learning_rate(micro_study: Path) -> None:
    log = (micro_study / "results/logs/finetune/full/en-ko.log").read_text()
    assert "fine-tune full en-ko" in log and "lr=" in log and "loss=" in log
    assert "step/s" in log or "s/step" in log


def test_adding_a_seen_pair_reruns_only_what_is_new(micro_study: Path, tmp_path: Path) -> None:
    config = yaml.safe_load(MICRO.read_text())
    config["seen_pairs"].append("de-en")
    extended = tmp_path / "extended.yaml"
    extended.write_text(yaml.safe_dump(config))
    counts = planned_jobs(micro_study, extended)
    # de-en: train + test + dev data (dev: task_arithmetic's grid search); 2 fine-tunes; merges of the 3 new combinations with de-en
    # (2 methods x 2 modes x 3); the 2 DG models, whose training set changed; evaluation jobs
    # (one per model): the 16 new models, and the 9 unchanged ones (base, 4 fine-tunes, 4
    # merges), whose jobs decode only de-en (test_evaluate: the cache serves the rest).
    assert counts == {
        "synthesize_pair": 3,
        "finetune": 2,
        "merge_recipe": 12,
        "train_dg": 2,
        "analyze_task_vectors": 2,
        "check_leakage": 1,  # the unseen pair's test set against the new training set
        "evaluate": 16 + 9,
        "summarize": 1,
        "plot": 1,
        "all": 1,
    }


def test_adding_an_unseen_pair_reruns_only_its_evaluations(micro_study: Path, tmp_path: Path) -> None:
    """Every model's evaluation job reruns, and decodes only the new pair (the cache serves the
    others: tests/test_evaluate.py)."""
    config = yaml.safe_load(MICRO.read_text())
    config["unseen_pairs"].append("de-ko")
    extended = tmp_path / "extended.yaml"
    extended.write_text(yaml.safe_dump(config))
    models = len(expected_models(config))
    assert planned_jobs(micro_study, extended) == {
        "synthesize_pair": 1,
        "check_leakage": 1,
        "evaluate": models,
        "summarize": 1,
        "plot": 1,
        "all": 1,
    }
