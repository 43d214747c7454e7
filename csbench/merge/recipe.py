"""A merge as data: which fine-tunes, which method, which hyperparameters — and how to build it.

Why recipes and not merged checkpoints: a study merges every combination of its seen pairs
with several methods, so merged weights would multiply disk use by the number of
combinations; a recipe is a few hundred bytes, and materializing it (base + merged task
vector) takes well under a second for the tiny model. The merge job writes the recipe
(`MergeRecipe.write`), evaluation reads and materializes it; `merged_model` is the one place
that turns task vectors into a model, shared with the dev-set grid search.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from csbench.io import read_json, write_json
from csbench.merge.methods import TaskVector, merge_task_vectors

if TYPE_CHECKING:  # a recipe job without a grid writes JSON only: no transformers import
    import torch
    from transformers import WhisperForConditionalGeneration

#: `selection` of a recipe whose hyperparameters come from the config as written.
FROM_CONFIG = "config"
#: `selection` of a recipe whose hyperparameters were searched (csbench.merge.selection).
FROM_GRID = "grid search on the dev sets of the merged seen pairs (lowest mixed error rate)"


@dataclass(frozen=True)
class MergeRecipe:
    """One merge: ``members`` are the seen pairs, ``member_checkpoints`` their fine-tunes.

    ``dev_sets`` and ``grid`` (every candidate with its dev MER) are set when the
    hyperparameters were searched; they are the record that no unseen pair was read.
    """

    method: str
    mode: str
    members: list[str]
    member_checkpoints: list[str]
    hyperparameters: dict[str, Any]
    selection: str = FROM_CONFIG
    dev_sets: list[str] = field(default_factory=list)
    grid: list[dict[str, Any]] = field(default_factory=list)

    def write(self, path: str | Path) -> None:
        """Write the recipe as JSON (atomically; the search fields only when searched)."""
        data = asdict(self)
        if self.selection == FROM_CONFIG:
            del data["dev_sets"], data["grid"]
        write_json(path, data)

    @classmethod
    def read(cls, path: str | Path) -> MergeRecipe:
        return cls(**read_json(path))

    def materialize(self, base_model: str, device: torch.device) -> WhisperForConditionalGeneration:
        """base + the merged task vector of the members, on `device`."""
        from csbench.models.loading import load_whisper
        from csbench.models.task_vectors import load_task_vector

        base = load_whisper(base_model, "cpu")
        vectors = [load_task_vector(base, Path(member)) for member in self.member_checkpoints]
        return merged_model(base, vectors, self.method, self.hyperparameters, in_place=True).to(device)


def merged_model(
    base: WhisperForConditionalGeneration,
    vectors: list[TaskVector],
    method: str,
    hyperparameters: dict[str, Any],
    in_place: bool = False,
) -> WhisperForConditionalGeneration:
    """The base plus `method`'s merge of `vectors` (a copy of the base unless `in_place`)."""
    from csbench.models.task_vectors import apply_task_vector

    model = base if in_place else copy.deepcopy(base)
    apply_task_vector(model, merge_task_vectors(method, vectors, **hyperparameters))
    return model
