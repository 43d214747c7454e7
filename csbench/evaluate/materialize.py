"""Build the model a result row names: the base, a fine-tune, or a merge recipe.

Merges are stored as recipes (members, method, hyperparameters, seed) and materialized
here, in memory, as base + merged task vector: disk use then grows with the number of
seen pairs, not with the number of their combinations.
"""

from __future__ import annotations

import torch
from transformers import WhisperForConditionalGeneration, WhisperProcessor

from csbench.errors import ConfigError
from csbench.merge.recipe import MergeRecipe
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
        assert checkpoint is not None
        return MergeRecipe.read(checkpoint).materialize(base, device), processor
    raise ConfigError(f"unknown model kind {kind!r}")
