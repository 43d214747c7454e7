"""Choose a merge's hyperparameters on the dev sets of the pairs it merges — and nothing else.

The grid (e.g. scaling λ ∈ {0.3, 0.6, 1.0} × density ∈ {0.3, 0.6}) is searched by decoding
the dev sets of the combination's own seen pairs with each candidate merge and keeping the
lowest mixed error rate. Unseen pairs are never read here: a value tuned on them would
make "transfer to unseen pairs" a tuned quantity rather than a measured one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from csbench.data.manifest import Utterance, read_manifest
from csbench.merge.methods import validate_hyperparameters
from csbench.merge.recipe import merged_model
from csbench.models.decode import dev_mixed_error_rate
from csbench.models.loading import load_processor, load_whisper
from csbench.models.task_vectors import load_task_vector
from csbench.study import grid_points

logger = logging.getLogger(__name__)


def select_hyperparameters(
    method: str,
    fixed: dict[str, Any],
    grid: dict[str, list[Any]],
    base_model: str,
    member_checkpoints: list[str | Path],
    dev_manifests: list[str | Path],
    device: torch.device,
    language_mode: str = "matrix",
    max_new_tokens: int = 96,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return (best hyperparameters, [{hyperparameters, dev_mer}] for every grid point)."""
    candidates = grid_points(fixed, grid)
    for candidate in candidates:  # fail on a bad grid before loading anything
        validate_hyperparameters(method, candidate)
    base = load_whisper(base_model, "cpu")
    processor = load_processor(base_model)
    vectors = [load_task_vector(base, checkpoint) for checkpoint in member_checkpoints]
    dev: list[Utterance] = [u for manifest in dev_manifests for u in read_manifest(manifest)]
    scores: list[dict[str, Any]] = []
    for candidate in candidates:
        model = merged_model(base, vectors, method, candidate)
        score = dev_mixed_error_rate(model, processor, dev, language_mode, max_new_tokens, device)
        logger.info("%s %s: dev MER %.4f", method, candidate, score)
        scores.append({"hyperparameters": candidate, "dev_mer": score})
    best = min(scores, key=lambda entry: entry["dev_mer"])  # first of equals: grid order
    return best["hyperparameters"], scores
