"""The training loop shared by base pretraining, per-pair fine-tuning and DG trainers.

Why not `transformers.Trainer`: the domain-generalization methods (Fish, Fishr, GGA) need
per-domain gradients inside each step, which Trainer does not expose; one small loop for
every trainer keeps fine-tunes and DG models comparable (same batching, schedule, clipping,
checkpointing). The loop guarantees:
- resume after `kill -9` from the last intact checkpoint, giving the same final weights as an
  uninterrupted run (batch order is a pure function of seed and step; RNG state is saved;
  checkpoints are verified on load, see `csbench.train.checkpoint`);
- SIGTERM or SIGUSR1 (what a scheduler sends before a time limit or a preemption), or a SLURM
  time limit coming closer than a margin, end the job after the current step with a checkpoint
  of exactly that step, so a rerun loses nothing (`csbench.train.preemption`);
- a NaN/inf loss stops the job naming the step and the utterance ids of the batch;
- progress (loss, learning rate, rate, ETA) on the terminal and in the log.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import get_linear_schedule_with_warmup

from csbench.errors import NonFiniteLossError, OutOfMemoryError, TrainingInterrupted
from csbench.models.loading import has_native_bf16
from csbench.progress import LoggedProgress
from csbench.train.batches import Batch
from csbench.train.checkpoint import load_checkpoint, save_checkpoint
from csbench.train.corruption import corrupted_decoder_inputs
from csbench.train.ctc import ctc_loss, ctc_weight_at
from csbench.train.preemption import StopRequests

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    """Optimization settings (from the config's training section)."""

    steps: int
    learning_rate: float
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    checkpoint_every: int = 100
    seed: int = 0

    @classmethod
    def from_config(
        cls, section: Mapping[str, Any], seed: int, learning_rate: float | None = None
    ) -> TrainSettings:
        """From a config section (finetune, dg, local_base) that the schema completed with its
        defaults — the one home of every default (schemas/config.schema.yaml, `default:`).
        `learning_rate` overrides the section's (fine-tunes keep one per mode)."""
        return cls(
            steps=int(section["steps"]),
            learning_rate=float(section["learning_rate"] if learning_rate is None else learning_rate),
            warmup_steps=int(section["warmup_steps"]),
            checkpoint_every=int(section["checkpoint_every"]),
            seed=int(seed),
        )


#: step → batch(es) for that step. Must be deterministic in `step` for exact resumption.
BatchSource = Callable[[int], list[Batch]]
#: (model, batches for this step, step index) → loss, after setting gradients (a DG method
#: may do more, e.g. an inner loop).
StepFunction = Callable[[torch.nn.Module, list[Batch], int], torch.Tensor]


def autocast_dtype(device: torch.device, mixed_precision: str) -> torch.dtype | None:
    """The autocast dtype for `mixed_precision` on `device`, or None for plain fp32.

    bf16 is used only where the hardware computes it natively: a CUDA GPU with bf16 (Ampere
    or newer) or a CPU with AVX512-BF16 or AMX (there, measured on 2 cores, the tiny base
    trains 1.6x faster). Elsewhere bf16 is emulated and slower than fp32, so the run falls
    back to fp32 and says so.
    """
    if mixed_precision != "bf16":
        return None
    if not has_native_bf16(device):
        logger.warning("mixed_precision bf16: this %s has no native bf16; training in fp32", device.type)
        return None
    return torch.bfloat16


def erm_step(
    model: torch.nn.Module,
    batches: list[Batch],
    step: int = 0,
    autocast_dtype: torch.dtype | None = None,
    token_corruption: float = 0.0,
    ctc_weight: float = 0.0,
    ctc_anneal_steps: int = 0,
) -> torch.Tensor:
    """Plain empirical risk minimization: mean loss over the step's batches, backpropagated.

    With `autocast_dtype` (mixed_precision: bf16, see `autocast_dtype()`) only the forward
    pass runs under autocast and backward runs outside it, as PyTorch recommends; bf16 needs
    no loss scaling. Without it (the default) nothing changes. `token_corruption` > 0 feeds
    the decoder inputs with that fraction of text tokens random (base pretraining only, see
    `csbench.train.corruption`). `ctc_weight` > 0 mixes in the CTC loss of the model's
    auxiliary encoder head, (1 - w) x attention + w x CTC, w annealed to 0 over
    `ctc_anneal_steps` when that is set (base pretraining only, see `csbench.train.ctc`).
    """
    device_type = batches[0].input_features.device.type
    context = (
        torch.autocast(device_type=device_type, dtype=autocast_dtype) if autocast_dtype is not None else nullcontext()
    )
    with context:
        weight = ctc_weight_at(step, ctc_weight, ctc_anneal_steps)
        losses = [_loss(model, b, token_corruption, weight) for b in batches]
        loss = torch.stack(losses).float().mean()
    _check_finite(loss, batches, step)
    loss.backward()
    return loss.detach()


def _loss(model: torch.nn.Module, batch: Batch, token_corruption: float, ctc_weight: float = 0.0) -> torch.Tensor:
    if token_corruption:
        inputs = corrupted_decoder_inputs(batch.labels, model.config, token_corruption)
        output = model(input_features=batch.input_features, decoder_input_ids=inputs, labels=batch.labels)
    else:
        output = model(input_features=batch.input_features, labels=batch.labels)
    if not ctc_weight:
        return output.loss
    auxiliary = ctc_loss(model, output.encoder_last_hidden_state, batch.labels)
    return (1.0 - ctc_weight) * output.loss + ctc_weight * auxiliary


def _check_finite(loss: torch.Tensor, batches: list[Batch], step: int | None = None) -> None:
    if not torch.isfinite(loss):
        ids = [utterance for batch in batches for utterance in batch.ids]
        where = f" at step {step}" if step is not None else ""
        raise NonFiniteLossError(
            f"loss is {loss.item()}{where} on batch {ids[:8]}{'…' if len(ids) > 8 else ''}: "
            "lower the learning rate or check these utterances"
        )


def default_optimizer(
    params: list[torch.nn.Parameter], learning_rate: float, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    """AdamW, fused: one kernel for all parameters instead of a dozen per tensor (1.13x more
    steps per second on the tiny base, 2 CPU threads)."""
    return torch.optim.AdamW(params, lr=learning_rate, weight_decay=weight_decay, fused=True)


#: Encoder positions up to which eager attention trains faster than SDPA on a CPU. Measured
#: (2 threads, bf16 autocast, torch 2.13): the tiny base's 150 positions 1.3x faster eager;
#: whisper-base's 1,500 positions 1.8x (LoRA) and 2.2x (full) slower eager. Between the two
#: nothing was measured; 512 sits where the attention matrix is still small next to the
#: linear layers' work.
EAGER_ATTENTION_MAX_POSITIONS = 512


def use_cpu_training_attention(model: torch.nn.Module, device: torch.device) -> None:
    """On a CPU, train a model with a short encoder in transformers' eager attention.

    Why: the backward pass of PyTorch's CPU flash attention (what SDPA dispatches to) is slow
    for short sequences; profiled on the tiny base (batch 16, bf16 autocast, 2 threads, torch
    2.13) it took 8.9 ms a call, 9x its forward and a third of the step, while eager
    attention's matmuls run on the same bf16 kernels as the rest of the model (1.3x more steps
    per second). For a real Whisper's 1,500 encoder positions SDPA is the faster one, and on a
    GPU SDPA stays: its kernels are fast and eager attention's memory grows with the square of
    the sequence.
    """
    if device.type != "cpu":
        return
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model  # a peft model wraps it
    if not hasattr(inner, "set_attn_implementation"):
        return
    if getattr(inner.config, "max_source_positions", 0) > EAGER_ATTENTION_MAX_POSITIONS:
        return
    if inner.config._attn_implementation != "eager":
        inner.set_attn_implementation("eager")


def _rng_state() -> dict:
    return {"python": random.getstate(), "torch": torch.get_rng_state()}


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])


def train(
    model: torch.nn.Module,
    trainable: list[torch.nn.Parameter],
    batches_for_step: BatchSource,
    settings: TrainSettings,
    checkpoint_dir: str | Path,
    device: torch.device,
    step_function: StepFunction = erm_step,
    description: str = "train",
    batch_size_setting: str = "the batch size",
    optimizer_factory: Callable[[list[torch.nn.Parameter]], torch.optim.Optimizer] | None = None,
    method_state: Any = None,
) -> list[dict]:
    """Run `settings.steps` optimizer steps, resuming from `checkpoint_dir` if it holds one.

    `method_state` (an object with `state_dict`/`load_state_dict`, e.g. Fishr's running
    variances) is checkpointed with the model. Running out of GPU memory stops the job with
    the step, the utterances per step and `batch_size_setting` (the config key to lower)
    rather than a CUDA traceback. Returns the training history (step, loss,
    learning rate) for the log and tests.
    """
    optimizer = (
        optimizer_factory(trainable)
        if optimizer_factory
        else default_optimizer(trainable, settings.learning_rate, settings.weight_decay)
    )
    scheduler = get_linear_schedule_with_warmup(optimizer, settings.warmup_steps, settings.steps)
    start, history = 0, []
    torch.manual_seed(settings.seed)
    random.seed(settings.seed)
    state = load_checkpoint(checkpoint_dir, device)
    if state is not None:
        model.load_state_dict(state["model"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        _set_rng_state(state["rng"])
        if method_state is not None and state.get("method") is not None:
            method_state.load_state_dict(state["method"])
        start, history = state["step"], state["history"]
        logger.info("resumed from %s at step %d of %d", checkpoint_dir, start, settings.steps)
    use_cpu_training_attention(model, device)
    model.train()
    bar = LoggedProgress(total=settings.steps, initial=start, desc=description, unit="step")
    slowest_step = 0.0
    with StopRequests() as stop:
        for step in range(start, settings.steps):
            step_started = time.monotonic()
            batches = [batch.to(device) for batch in batches_for_step(step)]
            optimizer.zero_grad(set_to_none=True)
            try:
                loss = step_function(model, batches, step)
            except torch.cuda.OutOfMemoryError as error:
                per_step = sum(len(batch.ids) for batch in batches)
                raise OutOfMemoryError.during(f"at training step {step}", per_step, batch_size_setting, error) from None
            _check_finite(loss, batches, step)
            grad_norm = torch.nn.utils.clip_grad_norm_(trainable, settings.max_grad_norm)
            if not math.isfinite(float(grad_norm)):
                raise NonFiniteLossError(
                    f"gradient norm is {float(grad_norm)} at step {step} on batch "
                    f"{[i for b in batches for i in b.ids][:8]}: lower the learning rate"
                )
            optimizer.step()
            scheduler.step()
            learning_rate = scheduler.get_last_lr()[0]
            history.append({"step": step + 1, "loss": float(loss), "learning_rate": learning_rate})
            bar.set_postfix(loss=f"{float(loss):.3f}", lr=f"{learning_rate:.2e}", refresh=False)
            bar.update(1)
            done = step + 1
            slowest_step = max(slowest_step, time.monotonic() - step_started)
            reason = stop.reason(slowest_step)
            if done < settings.steps and (done % settings.checkpoint_every == 0 or reason):
                _save_checkpoint(checkpoint_dir, model, optimizer, scheduler, done, history, method_state)
            if reason and done < settings.steps:
                bar.close()
                raise TrainingInterrupted(
                    f"{reason}: stopped after step {done} of {settings.steps} "
                    f"with a checkpoint in {checkpoint_dir}; rerunning the job resumes from it"
                )
    bar.close()
    model.eval()
    return history


def _save_checkpoint(
    directory: str | Path, model, optimizer, scheduler, step: int, history: list[dict], method_state: Any = None
) -> None:
    """Save only trainable state (LoRA: the adapter) plus optimizer, schedule and RNG."""
    trainable_names = {name for name, p in model.named_parameters() if p.requires_grad}
    state = {
        "model": {k: v for k, v in model.state_dict().items() if k in trainable_names},
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": _rng_state(),
        "step": step,
        "history": history,
        "method": method_state.state_dict() if method_state is not None else None,
    }
    path = save_checkpoint(directory, step, state)
    logger.info("checkpoint at step %d → %s", step, path)
