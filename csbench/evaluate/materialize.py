"""Build the model a result row names: the base, a fine-tune, or a merge recipe.

Merges are stored as recipes (members, method, hyperparameters, seed) and materialized
here, in memory, as base + merged task vector: disk use then grows with the number of
seen pairs, not with the number of their combinations.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import WhisperForConditionalGeneration, WhisperProcessor

from csbench.io import read_json
from csbench.models.loading import load_processor, load_whisper
from csbench.models.task_vectors import apply_task_vector, is_lora_checkpoint, load_task_vector


def materialize(
    kind: str, base: str, checkpoint: str | None, device: torch.device
) -> tuple[WhisperForConditionalGeneration, WhisperProcessor]:
    """Load the model of `kind` ('base', 'finetune', 'dg' or 'merge') on `device`.

    `checkpoint` is the model folder for 'finetune' and 'dg', the recipe JSON for 'merge'.
    """
    processor = load_processor(base)
    if kind == "base":
        return load_whisper(base, device), processor
    if kind in ("finetune", "dg"):
        assert checkpoint is not None
        if is_lora_checkpoint(checkpoint):
            model = load_whisper(base, "cpu")
            apply_task_vector(model, load_task_vector(model, checkpoint))
            return model.to(device), processor
        return load_whisper(checkpoint, device), processor
    if kind == "merge":
        from csbench.merge import merge_task_vectors

        assert checkpoint is not None
        recipe = read_json(checkpoint)
        model = load_whisper(base, "cpu")
        vectors = [load_task_vector(model, Path(member)) for member in recipe["member_checkpoints"]]
        merged = merge_task_vectors(recipe["method"], vectors, **recipe["hyperparameters"])
        apply_task_vector(model, merged)
        return model.to(device), processor
    raise ValueError(f"unknown model kind {kind!r}")
