"""Fine-tune a Whisper base on one domain: full fine-tuning or LoRA (peft).

Used for the per-pair fine-tunes and for pretraining the local tiny base (a "fine-tune"
of a randomly initialized model on monolingual speech). Outputs are Hugging Face
artifacts: a full model folder (`save_pretrained`) or a LoRA adapter folder, each with the
processor beside it, so a user can load any csbench model with plain transformers/peft.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from transformers import WhisperForConditionalGeneration, WhisperProcessor

from csbench.data.manifest import Utterance
from csbench.errors import ConfigError
from csbench.io import atomic_path, write_json
from csbench.train.batches import EpochSampler, FeatureStore, make_batch, matrix_language
from csbench.train.ctc import attach_ctc_head
from csbench.train.loop import TrainSettings, autocast_dtype, erm_step, train

logger = logging.getLogger(__name__)
FINETUNE_MODES = ("full", "lora")


@dataclass(frozen=True)
class LoraSettings:
    """LoRA hyperparameters (peft `LoraConfig`)."""

    rank: int = 8
    alpha: int = 16
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")
    dropout: float = 0.0

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> LoraSettings:
        """From the schema-completed `finetune.lora` section."""
        return cls(rank=int(section["rank"]), alpha=int(section["alpha"]),
                   target_modules=tuple(section["target_modules"]))


@dataclass(frozen=True)
class FinetuneJob:
    """One training run: what to train, on what, for how long."""

    mode: str
    settings: TrainSettings
    batch_size: int
    lora: LoraSettings = field(default_factory=LoraSettings)
    #: GPU memory saver for Whisper-medium-sized bases; ignored on CPU (config: finetune.*).
    gradient_checkpointing: bool = False
    #: "bf16": autocast where the device computes bf16 natively (`loop.autocast_dtype`).
    mixed_precision: str = "fp32"
    #: Fraction of decoder input tokens made random (local_base.token_corruption; 0 elsewhere).
    token_corruption: float = 0.0
    #: Weight of the auxiliary CTC loss (local_base.ctc_weight; 0 elsewhere). When on,
    #: run_finetune attaches the head (`csbench.train.ctc.attach_ctc_head`).
    ctc_weight: float = 0.0
    #: Steps over which that weight falls linearly to 0 (local_base.ctc_anneal_steps; 0: constant).
    ctc_anneal_steps: int = 0

    @classmethod
    def from_config(cls, mode: str, section: Mapping[str, Any], learning_rate: float, seed: int) -> FinetuneJob:
        """From the schema-completed `finetune` section; `learning_rate` is the mode's."""
        return cls(
            mode=mode,
            settings=TrainSettings.from_config(section, seed, learning_rate),
            batch_size=int(section["batch_size"]),
            lora=LoraSettings.from_config(section["lora"]) if mode == "lora" else LoraSettings(),
            gradient_checkpointing=bool(section["gradient_checkpointing"]),
            mixed_precision=str(section["mixed_precision"]),
        )


def prepare(model: WhisperForConditionalGeneration, mode: str, lora: LoraSettings):
    """Return (model to train, trainable parameters) for `mode`."""
    if mode == "full":
        for param in model.parameters():
            param.requires_grad_(True)
        return model, [p for p in model.parameters() if p.requires_grad]
    if mode == "lora":
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(
            r=lora.rank,
            lora_alpha=lora.alpha,
            target_modules=list(lora.target_modules),
            lora_dropout=lora.dropout,
            bias="none",
        )
        peft_model = get_peft_model(model, config)
        return peft_model, [p for p in peft_model.parameters() if p.requires_grad]
    raise ConfigError(f"unknown fine-tuning mode {mode!r}; expected one of {FINETUNE_MODES}")


def run_finetune(
    model: WhisperForConditionalGeneration,
    processor: WhisperProcessor,
    utterances: list[Utterance],
    job: FinetuneJob,
    checkpoint_dir: str | Path,
    device: torch.device,
    language_of=matrix_language,
    description: str = "fine-tune",
    batch_size_setting: str = "finetune.batch_size",
) -> tuple[torch.nn.Module, list[dict]]:
    """Train; return the trained model (a PeftModel for LoRA) and its history."""
    torch.manual_seed(job.settings.seed)
    checkpointing = device.type == "cuda" and job.gradient_checkpointing
    if checkpointing:  # non-reentrant: works with frozen embeddings (LoRA) without input grads
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if job.ctc_weight:  # before prepare(), so the head is trained and checkpointed with the model
        attach_ctc_head(model, job.settings.seed)
    dtype = autocast_dtype(device, job.mixed_precision)
    step_function = partial(
        erm_step, autocast_dtype=dtype, token_corruption=job.token_corruption, ctc_weight=job.ctc_weight,
        ctc_anneal_steps=job.ctc_anneal_steps,
    )
    trained, trainable = prepare(model, job.mode, job.lora)
    trained.to(device)
    store = FeatureStore(processor, utterances)
    sampler = EpochSampler(len(utterances), job.batch_size, job.settings.seed)

    def batches_for_step(step: int):
        return [make_batch(store, [utterances[i] for i in sampler.indices(step)], language_of)]

    Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
    history = train(
        trained, trainable, batches_for_step, job.settings, checkpoint_dir, device,
        step_function=step_function, description=description, batch_size_setting=batch_size_setting,
    )
    if checkpointing:
        model.gradient_checkpointing_disable()
    return trained, history


def save_model(
    model: torch.nn.Module,
    processor: WhisperProcessor,
    output_dir: str | Path,
    extra_json: dict[str, object] | None = None,
) -> None:
    """Save model (or LoRA adapter), processor and JSON side files atomically."""
    with atomic_path(output_dir) as temporary:
        model.save_pretrained(temporary)
        processor.save_pretrained(temporary)
        for name, data in (extra_json or {}).items():
            write_json(temporary / name, data)
