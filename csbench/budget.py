"""The data budget: how many training utterances of each seen pair every model sees.

Why its own module: a comparison between a merge of fine-tunes and a DG model trained on the
same pairs is only fair if both saw the same data. A DG step draws one batch per domain, so a
DG model with `steps` steps and `b` utterances per domain sees each pair `steps × b`
utterances; a fine-tune sees its pair `finetune.steps × finetune.batch_size`. With
``dg.budget: matched`` (the default) the DG trainers take the fine-tune's steps, per-pair
batch, warmup and precision, and the full fine-tune's learning rate (``dg.learning_rate`` in
a LoRA-only study), so the two numbers are equal by construction;
``dg.budget: explicit`` uses the ``dg`` section's own values (``dg.batch_size`` is then the
utterances per step, split evenly over the domains) and the tables say what each model saw.

Everything here is a pure function of the schema-completed config, shared by the Snakefile
(job params, resource requests), the trainers (their `budget.json`) and the report
(summary.csv's `examples_seen`).
"""

from __future__ import annotations

from typing import Any

from csbench.study import ModelId

#: Settings a matched DG trainer takes from the fine-tune (the full mode's learning rate: DG
#: models are full fine-tunes).
MATCHED_KEYS = ("steps", "warmup_steps", "checkpoint_every", "mixed_precision", "gradient_checkpointing")


def dg_training(config: dict[str, Any], n_domains: int) -> dict[str, Any]:
    """The DG trainers' effective settings: steps, batch_size_per_domain, learning_rate,
    warmup_steps, checkpoint_every, mixed_precision, gradient_checkpointing."""
    dg = config["dg"]
    if dg["budget"] == "matched":
        finetune = config["finetune"]
        settings = {key: finetune[key] for key in MATCHED_KEYS}
        # DG models are full fine-tunes: the full mode's rate; a LoRA-only study has none.
        settings["learning_rate"] = finetune["learning_rate"].get("full", dg["learning_rate"])
        settings["batch_size_per_domain"] = int(finetune["batch_size"])
        return settings
    settings = {key: dg[key] for key in MATCHED_KEYS}
    settings["learning_rate"] = dg["learning_rate"]
    settings["batch_size_per_domain"] = max(1, int(dg["batch_size"]) // n_domains)
    return settings


def finetune_examples_per_pair(config: dict[str, Any]) -> int:
    """Training utterances a fine-tune sees of its pair: steps × batch."""
    return int(config["finetune"]["steps"]) * int(config["finetune"]["batch_size"])


def dg_examples_per_pair(config: dict[str, Any], n_domains: int) -> int:
    """Training utterances a DG model on `n_domains` pairs sees of each: steps × per-domain batch."""
    settings = dg_training(config, n_domains)
    return int(settings["steps"]) * int(settings["batch_size_per_domain"])


def examples_seen(config: dict[str, Any], model: ModelId) -> dict[str, int]:
    """Training utterances of each seen pair behind `model` (repeats counted).

    A merge counts its members' fine-tunes (the merged weights come from that data); the base
    counts none (its pretraining is not seen-pair data).
    """
    if model.kind in ("finetune", "merge"):
        return dict.fromkeys(model.members, finetune_examples_per_pair(config))
    if model.kind == "dg":
        return dict.fromkeys(model.members, dg_examples_per_pair(config, len(model.members)))
    return {}


def budget_note(config: dict[str, Any]) -> str:
    """One sentence for the tables: whether DG and fine-tunes saw each pair equally often."""
    if not config.get("dg", {}).get("methods"):
        return ""
    per_pair_ft = finetune_examples_per_pair(config)
    per_pair_dg = dg_examples_per_pair(config, len(config["seen_pairs"]))
    if per_pair_dg == per_pair_ft:
        return (f"Data budget matched: every fine-tune and every DG model saw each of its seen pairs "
                f"{per_pair_ft} training utterances.")
    return (f"Data budget NOT matched (dg.budget: explicit): a fine-tune saw its pair {per_pair_ft} "
            f"utterances, a DG model on all seen pairs {per_pair_dg} per pair.")
