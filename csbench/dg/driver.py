"""Train one model on several seen pairs at once, each pair a domain (ERM-joint and DG).

Batches are domain-balanced: every step draws one batch from every domain, each domain
with its own seeded epoch order, so a method that compares domains (Fish, Fishr, GGA)
sees all of them at every step, and resuming reproduces the same batches.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from transformers import WhisperForConditionalGeneration, WhisperProcessor

from csbench.data.manifest import Utterance
from csbench.dg import bind_to_loop, make_dg_method, trainable_parameters
from csbench.train.batches import EpochSampler, FeatureStore, make_batch, matrix_language
from csbench.train.loop import TrainSettings, autocast_dtype, train

logger = logging.getLogger(__name__)


def run_domain_generalization(
    model: WhisperForConditionalGeneration,
    processor: WhisperProcessor,
    domains: dict[str, list[Utterance]],
    method_name: str,
    hyperparameters: dict,
    settings: TrainSettings,
    batch_size_per_domain: int,
    checkpoint_dir: str | Path,
    device: torch.device,
    mixed_precision: str = "fp32",
    gradient_checkpointing: bool = False,
) -> tuple[torch.nn.Module, list[dict]]:
    """Full fine-tuning of `model` on `domains` with DG method `method_name`.

    `mixed_precision` and `gradient_checkpointing` are the fine-tunes' policies (csbench.budget
    passes them on under ``dg.budget: matched``), so the two families differ only in the method.
    """
    method = make_dg_method(method_name, **hyperparameters)
    method.autocast_dtype = autocast_dtype(device, mixed_precision)
    torch.manual_seed(settings.seed)
    checkpointing = device.type == "cuda" and gradient_checkpointing
    if checkpointing:  # as for fine-tunes (csbench.train.finetune.run_finetune)
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.to(device)
    for param in model.parameters():
        param.requires_grad_(True)
    names = sorted(domains)
    stores = {name: FeatureStore(processor, domains[name]) for name in names}
    samplers = {
        name: EpochSampler(len(domains[name]), batch_size_per_domain, hash_seed(settings.seed, name))
        for name in names
    }

    def batches_for_step(step: int):
        return [
            make_batch(stores[name], [domains[name][i] for i in samplers[name].indices(step)],
                       matrix_language, domain=name)
            for name in names
        ]

    Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
    history = train(
        model,
        trainable_parameters(model),
        batches_for_step,
        settings,
        checkpoint_dir,
        device,
        description=f"{method_name} on {'+'.join(names)}",
        batch_size_setting="finetune.batch_size (dg.budget: matched) or dg.batch_size",
        **bind_to_loop(method, settings),
    )
    if checkpointing:
        model.gradient_checkpointing_disable()
    return model, history


def examples_seen(history: list[dict], batch_size_per_domain: int, domains: list[str]) -> dict[str, int]:
    """Training utterances each domain contributed over the steps in `history` (budget.json)."""
    return {name: len(history) * batch_size_per_domain for name in sorted(domains)}


def hash_seed(seed: int, name: str) -> int:
    """A per-domain seed, stable across processes."""
    import zlib

    return (seed * 1_000_003 + zlib.crc32(name.encode())) % (2**31)
