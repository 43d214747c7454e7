"""The data budget (csbench/budget.py): DG models see each seen pair as often as its fine-tune."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import yaml
from snakemake.utils import validate
from test_resources import _dry_run_resources

from csbench.budget import budget_note, dg_training, examples_seen
from csbench.study import ModelId, StudyPlan, grid_candidates

REPO = Path(__file__).resolve().parents[1]


def completed(path: str | Path, **changes: dict) -> dict:
    """A config file with the schema's defaults filled in (what every job sees)."""
    config = yaml.safe_load((REPO / path).read_text())
    for key, value in changes.items():
        config[key] = {**config[key], **value}
    validate(config, str(REPO / "schemas/config.schema.yaml"))
    return config


def test_matched_budget_gives_every_dg_model_the_finetunes_utterances_per_pair() -> None:
    config = completed("config.yaml")
    assert config["dg"]["budget"] == "matched"
    settings = dg_training(config, 3)
    finetune = config["finetune"]
    assert settings["steps"] == finetune["steps"] and settings["batch_size_per_domain"] == finetune["batch_size"]
    assert settings["learning_rate"] == finetune["learning_rate"]["full"]
    assert settings["mixed_precision"] == finetune["mixed_precision"]
    plan = StudyPlan.from_config(config)
    per_pair = finetune["steps"] * finetune["batch_size"]
    for model in plan.models():
        seen = examples_seen(config, model)
        assert set(seen) == set(model.members)
        assert all(count == per_pair for count in seen.values()), model
    assert str(per_pair) in budget_note(config) and "matched" in budget_note(config)


def test_explicit_budget_splits_the_step_over_the_domains_and_the_note_says_unmatched() -> None:
    config = completed("config.yaml", dg={"budget": "explicit", "steps": 120, "batch_size": 9})
    assert dg_training(config, 3)["batch_size_per_domain"] == 3
    dg = ModelId.dg("erm", "de-en+en-ja+en-ko")
    assert examples_seen(config, dg) == {"de-en": 360, "en-ja": 360, "en-ko": 360}
    assert examples_seen(config, ModelId.base()) == {}
    assert "NOT matched" in budget_note(config)


def test_lora_only_study_takes_the_dg_learning_rate() -> None:
    config = completed("config.yaml", finetune={"modes": ["lora"], "learning_rate": {"lora": 1e-3}},
                       dg={"learning_rate": 5e-5})
    assert dg_training(config, 3)["learning_rate"] == 5e-5


def test_default_dag_trains_dg_at_the_finetunes_budget_and_precision() -> None:
    config = completed("config.yaml")
    jobs = _dry_run_resources("config.yaml")
    dg_jobs = [job for job in jobs if job["rule"] == "train_dg"]
    dg = config["dg"]
    candidates = {method: grid_candidates(dg["hyperparameters"].get(method, {}), dg["grid"].get(method, {}))
                  for method in dg["methods"]}
    assert len(dg_jobs) == sum(len(names) for names in candidates.values()) > len(dg["methods"])
    for job in dg_jobs:  # each candidate trains with its own values on top of the fixed ones
        wildcards = job["wildcards"]
        assert job["params"]["hyperparameters"] == candidates[wildcards["dg_method"]][wildcards["candidate"]]
    for job in dg_jobs:
        settings = job["params"]["settings"]
        assert settings["steps"] * settings["batch_size_per_domain"] == (
            config["finetune"]["steps"] * config["finetune"]["batch_size"]
        )
        assert settings["mixed_precision"] == config["finetune"]["mixed_precision"]
    # The resource request counts every domain's batch: three times a fine-tune's work.
    finetune = next(job for job in jobs if job["rule"] == "finetune" and job["wildcards"]["mode"] == "full")
    erm = next(job for job in dg_jobs if job["wildcards"]["dg_method"] == "erm")
    assert erm["resources"]["runtime"] >= 2 * finetune["resources"]["runtime"]


def test_micro_study_records_examples_seen_in_models_and_summary(micro_study: Path) -> None:
    config = completed("tests/configs/micro.yaml")
    summary = pd.read_csv(micro_study / "results/tables/summary.csv")
    recorded = summary.groupby("model")["examples_seen"].first().to_dict()
    plan = StudyPlan.from_config(config)
    for model in plan.models():
        expected = examples_seen(config, model)
        assert recorded[str(model)] == sum(expected.values())
        if model.kind in ("finetune", "dg"):
            budget = json.loads((micro_study / model.checkpoint() / "budget.json").read_text())
            assert budget["examples_seen"] == expected, model
    note = (micro_study / "results/tables/paper_table.md").read_text()
    assert budget_note(copy.deepcopy(config)) in note
