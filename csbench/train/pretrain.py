"""Pretrain the local tiny base on monolingual synthetic speech (offline default only).

The base must already "know" each language alone, so that per-pair fine-tuning teaches
code-switching rather than the languages themselves — the situation of a real
multilingual base such as Whisper-medium.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from transformers import WhisperTokenizer

from csbench.data.manifest import read_manifest
from csbench.models.tiny import TinyWhisperSpec, build_tiny_whisper
from csbench.models.tokenizer import train_tokenizer
from csbench.train.checkpoint import remove_checkpoints
from csbench.train.ctc import detach_ctc_head
from csbench.train.finetune import FinetuneJob, run_finetune, save_model
from csbench.train.loop import TrainSettings

logger = logging.getLogger(__name__)
SPEC_KEYS = (
    "d_model", "encoder_layers", "decoder_layers", "attention_heads", "ffn_dim", "window_s", "frames_per_second",
)


def local_base_spec(options: dict[str, Any]) -> TinyWhisperSpec:
    """The tiny base's architecture from the `local_base` config section (its other keys are
    the pretraining recipe); absent keys keep TinyWhisperSpec's defaults."""
    return TinyWhisperSpec(**{key: options[key] for key in SPEC_KEYS if key in options})


def pretrain_local_base(
    train_manifests: list[str],
    dev_manifests: list[str],
    options: dict[str, Any],
    seed: int,
    device: torch.device,
    output_dir: str | Path,
    checkpoint_dir: str | Path,
) -> dict[str, float]:
    """Build, pretrain and save the tiny base; return its dev error rates."""
    from csbench.metrics import character_error_rate, mixed_error_rate
    from csbench.models.decode import transcribe

    train_set = [u for manifest in train_manifests for u in read_manifest(manifest)]
    dev_set = [u for manifest in dev_manifests for u in read_manifest(manifest)]
    spec = local_base_spec(options)
    checkpoint_dir = Path(checkpoint_dir)
    tokenizer_dir = checkpoint_dir / "tokenizer"
    if tokenizer_dir.exists():  # resuming: reuse the exact tokenizer the checkpoint was trained with
        tokenizer = WhisperTokenizer.from_pretrained(tokenizer_dir)
    else:
        tokenizer = train_tokenizer([u.text for u in train_set], options["vocab_size"], spec.window_s)
        tokenizer.save_pretrained(tokenizer_dir)
    model, processor = build_tiny_whisper(tokenizer, spec, seed)
    logger.info("tiny Whisper: %.2f M parameters, vocabulary %d", model.num_parameters() / 1e6, len(tokenizer))
    job = FinetuneJob(
        mode="full",
        settings=TrainSettings.from_config(options, seed),
        batch_size=int(options["batch_size"]),
        mixed_precision=str(options["mixed_precision"]),
        # absent when off: rules/common.smk leaves them out of the params (local_base_settings)
        token_corruption=float(options.get("token_corruption", 0.0)),
        ctc_weight=float(options.get("ctc_weight", 0.0)),
        ctc_anneal_steps=int(options.get("ctc_anneal_steps", 0)),
    )
    trained, history = run_finetune(
        model, processor, train_set, job, checkpoint_dir, device, description="pretrain base",
        batch_size_setting="local_base.batch_size",
    )
    detach_ctc_head(trained)  # run_finetune attached it when ctc_weight is on; the base is a plain Whisper
    hypotheses, _ = transcribe(trained, processor, dev_set, "matrix", device=device)
    references = [u.text for u in dev_set]
    predictions = [hypotheses[u.id] for u in dev_set]
    scores = {
        "dev_cer": character_error_rate(references, predictions),
        "dev_mer": mixed_error_rate(references, predictions),
        "parameters": float(model.num_parameters()),
        "final_loss": history[-1]["loss"] if history else float("nan"),
    }
    logger.info("pretrained base on dev: CER %.3f, MER %.3f", scores["dev_cer"], scores["dev_mer"])
    save_model(trained, processor, output_dir, {"training_history.json": history, "pretraining_scores.json": scores})
    remove_checkpoints(checkpoint_dir)
    return scores


