"""The real workflow, end to end: Snakemake as a subprocess on the micro config."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workflow_utils import REPO, job_counts, planned_jobs, run_snakemake

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


def test_dg_grid_search_reads_only_the_trained_pairs_dev_sets(micro_study: Path) -> None:
    import json

    selection = json.loads((micro_study / "results/dg/fishr/en-ja+en-ko/selection.json").read_text())
    assert selection["dev_sets"] == ["results/data/pairs/en-ja/dev.jsonl", "results/data/pairs/en-ko/dev.jsonl"]
    assert [entry["candidate"] for entry in selection["grid"]] == ["penalty_weight=10.0", "penalty_weight=1000.0"]
    assert [entry["hyperparameters"]["penalty_weight"] for entry in selection["grid"]] == [10.0, 1000.0]
    best = min(selection["grid"], key=lambda entry: entry["dev_mer"])
    assert selection["chosen"] == best["candidate"] and selection["hyperparameters"] == best["hyperparameters"]
    # The published model is the chosen candidate's weights, file for file.
    chosen = micro_study / "results/dg-candidates/fishr/en-ja+en-ko" / best["candidate"]
    published = micro_study / "results/dg/fishr/en-ja+en-ko"
    assert (published / "model.safetensors").read_bytes() == (chosen / "model.safetensors").read_bytes()
    erm = json.loads((micro_study / "results/dg/erm/en-ja+en-ko/selection.json").read_text())
    assert erm == {"selection": "config", "chosen": "config", "hyperparameters": {}}
    # Which jobs read a dev set: the searched merges' recipes, Fishr's selection, the leakage checks.
    log = (micro_study / "results/logs/dg/fishr/en-ja+en-ko/select.log").read_text()
    assert "ja-ko" not in log


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
    # (2 methods x 2 modes x 3); the 2 DG models, whose training set changed (ERM and Fishr's
    # two grid candidates, then each model's selection on the dev sets); evaluation jobs
    # (one per model): the 16 new models, and the 9 unchanged ones (base, 4 fine-tunes, 4
    # merges), whose jobs decode only de-en (test_evaluate: the cache serves the rest).
    assert counts == {
        "synthesize_pair": 3,
        "finetune": 2,
        "merge_recipe": 12,
        "train_dg": 3,
        "select_dg": 2,
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


def test_a_second_training_seed_trains_only_its_replicate_and_reports_the_spread(
    micro_study: Path, tmp_path: Path
) -> None:
    """`seeds: [0, 1]` on the finished micro study: only seed 1's models are trained, merged
    and evaluated (seed 0's keep their unsuffixed ids and files), seed 1's from its own local
    base; the report aggregates both."""
    import json
    import shutil

    workdir = tmp_path / "study"
    shutil.copytree(micro_study, workdir, symlinks=True)  # copy2 keeps the mtimes
    config = yaml.safe_load(MICRO.read_text())
    config["seeds"] = [0, 1]
    seeded = tmp_path / "seeds.yaml"
    seeded.write_text(yaml.safe_dump(config))
    replicate_models = len(expected_models(config))  # every model, its local base included
    assert planned_jobs(workdir, seeded) == {
        "pretrain_local_base": 1,
        "finetune": 4,
        "merge_recipe": 4,
        "train_dg": 3,  # ERM and Fishr's two candidates
        "select_dg": 2,
        "evaluate": replicate_models,
        "summarize": 1,
        "plot": 1,
        "all": 1,
    }
    result = run_snakemake(workdir, seeded, "--cores", "2")
    assert result.returncode == 0, result.stderr[-4000:]
    for model in ("base/local-tiny", "finetune/full/en-ko"):
        first = workdir / f"results/{model}/model.safetensors"
        second = workdir / f"results/{model}@1/model.safetensors"
        assert first.read_bytes() != second.read_bytes()  # another training run, not a copy
    # Seed 1's models hang off seed 1's base only: retraining it reruns them, not seed 0's.
    rerun = run_snakemake(workdir, seeded, "-n", "--quiet", "rules", "--forcerun", "results/base/local-tiny@1")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert job_counts(rerun.stdout + rerun.stderr)["evaluate"] == replicate_models
    budget = json.loads((workdir / "results/finetune/full/en-ko@1/budget.json").read_text())
    assert budget["examples_seen"] == {"en-ko": config["finetune"]["steps"] * config["finetune"]["batch_size"]}
    summary = pd.read_csv(workdir / "results/tables/summary.csv")
    mer = summary[summary["metric"] == "mer"]
    assert set(mer["seed"]) == {0, 1}  # the local base is trained per seed too
    assert set(mer.loc[mer["kind"] == "base", "model"]) == {"base", "base@1"}
    assert (mer.groupby(["configuration", "pair"])["seed"].nunique() == 2).all()
    seeds = pd.read_csv(workdir / "results/tables/seeds.csv")
    assert (seeds["n_seeds"] == 2).all() and seeds["sd"].notna().all()
    row = seeds[(seeds["configuration"] == "finetune/full/en-ko") & (seeds["pair"] == "en-ko")].iloc[0]
    values = mer[(mer["configuration"] == "finetune/full/en-ko") & (mer["pair"] == "en-ko")]["value"]
    assert math.isclose(row["mean"], values.mean(), abs_tol=1e-6)
    assert math.isclose(row["sd"], values.std(ddof=1), abs_tol=1e-6)
    answer = pd.read_csv(workdir / "results/tables/answer.csv")
    assert (answer["n_seeds"] == 2).all()
    table = (workdir / "results/tables/paper_table.md").read_text()
    assert "over 2 training seeds" in table and " ± " in table
    assert "finetune/full/en-ko@1" not in table  # one row per configuration
