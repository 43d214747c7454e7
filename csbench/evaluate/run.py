"""One evaluation job: materialize a model, decode a test set, write raw predictions."""

from __future__ import annotations

import logging

import torch

from csbench.data.manifest import read_manifest
from csbench.evaluate.decode import transcribe
from csbench.evaluate.materialize import materialize
from csbench.io import write_json
from csbench.models.loading import resolve_device

logger = logging.getLogger(__name__)


def evaluate_model(
    model_id: str,
    kind: str,
    base_model: str,
    checkpoint: str | None,
    test_manifest: str,
    pair: str,
    output: str,
    language_mode: str = "matrix",
    batch_size: int = 32,
    max_new_tokens: int = 96,
    device_name: str = "auto",
) -> None:
    """Write {model, pair, settings, timing, utterances: [{id, reference, hypothesis}]}."""
    device = resolve_device(device_name)
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    utterances = read_manifest(test_manifest)
    model, processor = materialize(kind, base_model, checkpoint, device)
    hypotheses, timing = transcribe(
        model, processor, utterances, language_mode, batch_size, max_new_tokens, device, dtype
    )
    logger.info("%s on %s: %d utterances, RTFx %.1f", model_id, pair, len(utterances), timing["rtfx"])
    write_json(
        output,
        {
            "model": model_id,
            "pair": pair,
            "language_mode": language_mode,
            "device": str(device),
            "dtype": str(dtype).removeprefix("torch."),
            "timing": timing,
            "utterances": [
                {"id": u.id, "reference": u.text, "hypothesis": hypotheses[u.id]} for u in utterances
            ],
        },
    )
