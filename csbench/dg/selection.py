"""Choose a DG model's hyperparameters on the dev sets of the pairs it is trained on — and
nothing else, exactly as merges choose theirs (csbench.merge.selection).

Each candidate of the method's grid (``dg.grid``) is a trained model; the search decodes the
dev sets of the model's own seen pairs with every candidate and keeps the lowest mixed error
rate (corpus MER over the pooled dev utterances, `csbench.models.decode.dev_mixed_error_rate`,
the score merges minimize). Unseen pairs are never read here, so "transfer to unseen pairs"
stays a measured quantity for DG as for merges.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from csbench.data.manifest import Utterance, read_manifest
from csbench.io import atomic_path, write_json
from csbench.models.decode import dev_mixed_error_rate
from csbench.models.loading import load_processor, load_whisper

logger = logging.getLogger(__name__)

#: `selection` of a DG model trained with the config's hyperparameters (no grid).
FROM_CONFIG = "config"
#: `selection` of a DG model whose hyperparameters were searched.
FROM_GRID = "grid search on the dev sets of the model's seen pairs (lowest mixed error rate)"


def select_candidate(
    candidates: dict[str, str | Path],
    dev_manifests: list[str | Path],
    device: torch.device,
    language_mode: str = "matrix",
    max_new_tokens: int = 96,
) -> tuple[str, list[dict[str, Any]]]:
    """(name of the best candidate, [{candidate, dev_mer}] for every candidate in order)."""
    dev: list[Utterance] = [u for manifest in dev_manifests for u in read_manifest(manifest)]
    scores: list[dict[str, Any]] = []
    for name, folder in candidates.items():
        model = load_whisper(str(folder), device)
        processor = load_processor(str(folder))
        score = dev_mixed_error_rate(model, processor, dev, language_mode, max_new_tokens, device)
        logger.info("candidate %s: dev MER %.4f", name, score)
        scores.append({"candidate": name, "dev_mer": score})
        del model
    best = min(scores, key=lambda entry: entry["dev_mer"])  # first of equals: grid order
    return best["candidate"], scores


def publish(
    chosen: str | Path, output_dir: str | Path, selection: dict[str, Any]
) -> None:
    """Copy the chosen candidate's folder to `output_dir` (hard links where the file system
    allows: no second copy of the weights) with `selection.json`, atomically."""

    def link_or_copy(source: str, target: str) -> None:
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)

    with atomic_path(output_dir) as temporary:
        shutil.copytree(chosen, temporary, copy_function=link_or_copy)
        write_json(Path(temporary) / "selection.json", selection)
