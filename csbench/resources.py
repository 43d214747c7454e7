"""Resource requests (memory, run time, GPU memory) computed from the work a job does.

Why not fixed numbers per rule: a scheduler kills a job that outgrows its request and leaves
one that asks too much waiting; a Whisper-medium fine-tune needs ~100x the memory and ~10^4x
the compute of the offline default's 2.6 M-parameter one. Each job's cost here is a product
of what it processes — base parameters P, the audio window W (the model's fixed input length
in seconds), utterances (× steps for training) — and one coefficient per kind of work and
device, plus a fixed start-up cost. `--set-resources rule:mem_mb=…` still overrides any of it.

Coefficients, and where each comes from (2-core CPU, torch 2.13, one thread per job):
- CPU training: 7.3 s per utterance-step for a full whisper-base fine-tune (P = 72.6 M,
  W = 30 s; tests/configs/micro-whisper-base.yaml, 2 steps × 2), i.e. 3.4e-9 s per P·W.
  The same coefficient predicts 0.052 s for the tiny default's (P·W = 1.6e7), measured 0.031
  s: the linear model over-asks small models, which is the safe side.
- CPU decoding: 1.3 s per utterance for whisper-base, batched greedy (same run), 6e-10 s per
  P·W; the tiny default measured 0.012 s where this predicts 0.009 s (within the safety factor).
- GPU decoding, from published throughput: the Open ASR Leaderboard's Whisper board (Hugging
  Face, 24 Jan 2025: faster-whisper fp16 on one CUDA GPU, batch 1) gives RTFx 49.4 (tiny.en),
  38.9 (base.en), 34.3 (small.en), 24.5 (medium.en) and 19.1 (large-v3). A job's decoding
  time is utterances × W / RTFx of the nearest size by parameters (every utterance counted
  as a full window: the leaderboard's are shorter, the safe side), divided by an **assumed**
  4x gain of csbench's batches (16-32 utterances) over batch 1. Whisper-medium: 0.31 s per
  utterance. Without that gain the paper preset's dev-set grid searches (12,000 utterances)
  would ask 8 h each.
- GPU training, from published peak compute: 6 FLOPs per parameter per position (forward and
  backward; Kaplan et al. 2020), 50 encoder positions per window second, so 300·P·W per
  utterance-step (an upper bound: the decoder sees far fewer positions), 8/6 of that with
  gradient checkpointing (one forward recomputed), on an A100 (bf16 dense peak 312 TFLOP/s,
  NVIDIA's datasheet) at an assumed 30 % model-FLOPs utilization. Cross-check: the measured
  CPU coefficient above is 300 / 3.4e-9 = 88 GFLOP/s, plausible for this CPU, so the
  FLOPs count tracks real cost. Whisper-medium: 0.074 s per utterance-step (0.099 s with
  gradient checkpointing), 1.2 s (1.6 s) per step of 16. The utilization and the batch gain
  above are the two assumptions left (no GPU was lent to measure them): if jobs end far
  earlier than asked or reach --time, correct GPU_MFU or GPU_BATCH_GAIN from a job's rate
  (its log's progress lines), or override with --set-resources.
- Memory: full fine-tuning holds fp32 weights, gradients and two AdamW moments (16 bytes per
  parameter), LoRA the weights (4) plus the adapter's share; activations are 6.9e-8 MB per
  utterance × P × W (whisper-base full fine-tune: 1.9-2.4 GB max RSS at batch 2), decoding
  1e-8; a process with torch and transformers imported starts at ~700 MB (tiny jobs' max RSS).
Every estimate is multiplied by SAFETY, and memory by the attempt number, so a job that is
retried after running out of memory asks for more.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from csbench.hub import PACKAGED_MODELS

#: Parameters of OpenAI's Whisper sizes, matched in a hub id or folder name ("whisper-medium").
WHISPER_PARAMETERS = {"tiny": 39e6, "base": 74e6, "small": 244e6, "medium": 769e6, "turbo": 809e6, "large": 1550e6}
#: Seconds per (utterance-step × parameter × window second) of training, and per (utterance ×
#: parameter × window second) of greedy decoding, on one CPU thread (measured; see above).
CPU_TRAIN_S = 3.4e-9
CPU_DECODE_S = 6e-10
#: Published GPU decoding throughput (RTFx, audio seconds per second) per Whisper size, and
#: the parameters it is matched by (see above).
#: large-v3-turbo (809 M, RTFx 39.5) is left out: its 4-layer decoder makes it faster than a
#: model of its size, and a nearest-size match must not under-ask.
GPU_DECODE_RTFX = {39e6: 49.44, 74e6: 38.92, 244e6: 34.31, 769e6: 24.48, 1550e6: 19.13}
#: Assumed speed-up of batched over batch-1 GPU decoding (not measured: no GPU was lent).
GPU_BATCH_GAIN = 4.0
#: Training FLOPs per (utterance-step × parameter × window second): 6 per parameter and position,
#: 50 encoder positions per second.
TRAIN_FLOPS_PER_UNIT = 6 * 50
#: Published bf16 dense peak of an A100, and the share of it a Whisper fine-tune is assumed to
#: reach (not measured; see above).
GPU_PEAK_FLOPS = 312e12
GPU_MFU = 0.3
#: Process start, imports and model loading, in seconds; and a process's memory before work.
STARTUP_S = 60.0
BASE_MEM_MB = 700.0
#: Activation memory per utterance in a batch, in MB per (parameter × window second).
TRAIN_ACTIVATION_MB = 6.9e-8
DECODE_ACTIVATION_MB = 1e-8
#: Pretraining the local base caches every training utterance's features, so its memory grows
#: with utterances × mel frames. Max RSS measured: 3,659 MB for 2,800 utterances of 600 frames
#: (6 s at 100 frames/s; ~1.1 MB each beyond the process) and 2,310 MB for 8,000 of 300 frames
#: (50 frames/s; ~0.2 MB each). The larger per-frame figure is used.
PRETRAIN_MB_PER_FRAME = 1.1 / 600
#: Optimizer state of LoRA's trainable share of the parameters, on top of the frozen fp32
#: weights: rank 16-32 adapters on every projection of Whisper-medium train 2-4.5 % of it. The
#: tiny default's rank 32 trains 21 % of 2.56 M parameters: ~2 MB more than this assumes,
#: nothing beside the process's ~1 GB.
LORA_STATE_SHARE = 0.02
#: Activations kept with gradient checkpointing (CUDA only), as a share of those without:
#: one tensor per layer instead of every intermediate. An assumption, not measured here.
CHECKPOINTED_ACTIVATIONS = 0.25
#: Every estimate is multiplied by this before it is requested.
SAFETY = 2.0


@dataclass(frozen=True)
class Cost:
    """What one job asks the scheduler for."""

    mem_mb: int
    runtime: int  # minutes, Snakemake's unit
    gpu_mem_mb: int


@dataclass(frozen=True)
class Workload:
    """The size of the study's base model and where its jobs compute."""

    parameters: float
    window_s: float
    gpu: bool

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Workload:
        parameters, window = base_size(config)
        return cls(parameters, window, computes_on_gpu(str(config.get("device", "auto"))))

    @property
    def unit(self) -> float:
        """P·W: what one utterance costs in every coefficient above."""
        return self.parameters * self.window_s

    def training(
        self, utterance_steps: float, batch: int, mode: str = "full", extra_copies: int = 0,
        cached_mb: float = 0.0, gradient_checkpointing: bool = False,
    ) -> Cost:
        """A training job: `utterance_steps` = steps × utterances per step, `batch` utterances at
        once; `extra_copies` more fp32 copies of the weights (Fish's inner model); `cached_mb`
        held in host memory besides (pretraining's feature cache)."""
        if self.gpu:
            flops = TRAIN_FLOPS_PER_UNIT * (8 / 6 if gradient_checkpointing else 1.0)
            seconds = utterance_steps * self.unit * flops / (GPU_PEAK_FLOPS * GPU_MFU)
        else:
            seconds = utterance_steps * self.unit * CPU_TRAIN_S
        state = self.parameters * (16 if mode == "full" else 4 + 4 * LORA_STATE_SHARE) / 1e6
        activations = batch * self.unit * TRAIN_ACTIVATION_MB
        if gradient_checkpointing and self.gpu:
            activations *= CHECKPOINTED_ACTIVATIONS
        device = state + self.parameters * 4 * extra_copies / 1e6 + activations
        return self._cost(seconds, device, cached_mb)

    def decoding(self, utterances: float, batch: int, models_in_memory: int = 1) -> Cost:
        """An evaluation or a dev-set search: `utterances` decoded, `models_in_memory` copies
        (a merge holds the base and its members' task vectors)."""
        if self.gpu:
            seconds = utterances * self.window_s / (gpu_decode_rtfx(self.parameters) * GPU_BATCH_GAIN)
        else:
            seconds = utterances * self.unit * CPU_DECODE_S
        device = self.parameters * 4 * models_in_memory / 1e6 + batch * self.unit * DECODE_ACTIVATION_MB
        return self._cost(seconds, device, 0.0)

    def _cost(self, seconds: float, device_mb: float, host_only_mb: float) -> Cost:
        """On a GPU the work's memory is GPU memory and the host holds one fp32 copy of the
        weights while loading; on a CPU the host holds everything."""
        host = host_only_mb + (self.parameters * 4 / 1e6 if self.gpu else device_mb)
        return Cost(
            mem_mb=_round_up((BASE_MEM_MB + host) * SAFETY),
            runtime=max(1, math.ceil((STARTUP_S + seconds) * SAFETY / 60)),
            gpu_mem_mb=_round_up(device_mb * SAFETY) if self.gpu else 0,
        )


def gpu_decode_rtfx(parameters: float) -> float:
    """The published RTFx of the Whisper size nearest to `parameters` (on a log scale), so a
    tiny local model takes whisper-tiny's: at batch 1 decoding is bound by per-token latency,
    not by parameters, and RTFx falls only 2.6x from tiny to large."""
    nearest = min(GPU_DECODE_RTFX, key=lambda size: abs(math.log(size / max(parameters, 1.0))))
    return GPU_DECODE_RTFX[nearest]


def _round_up(megabytes: float) -> int:
    return int(math.ceil(megabytes / 100) * 100)


def computes_on_gpu(device: str) -> bool:
    """Whether jobs will compute on a GPU: `device: cuda…`, or `auto` where this machine sees
    one. A cluster whose login node has no GPU should say `device: cuda` (else the requests
    use CPU coefficients: safe for memory, but run times far above a GPU job's)."""
    if device.startswith("cuda"):
        return True
    if device != "auto":
        return False
    import torch

    return bool(torch.cuda.is_available())


def base_size(config: dict[str, Any]) -> tuple[float, float]:
    """(parameters, window in seconds) of the study's base model, without loading it."""
    base = str(config["base_model"])
    if base == "local-tiny":
        spec = config["local_base"]
        positions = int(spec["window_s"] * spec["frames_per_second"]) // 2  # halved by the conv stride
        return float(whisper_parameters(spec["d_model"], spec["encoder_layers"], spec["decoder_layers"],
                                        spec["ffn_dim"], spec["vocab_size"], positions, 128)), float(spec["window_s"])
    config_file = Path(base).expanduser() / "config.json"
    if config_file.is_file() and base not in PACKAGED_MODELS:
        settings = json.loads(config_file.read_text())
        if "d_model" in settings:  # a transformers Whisper folder
            return float(whisper_parameters(
                settings["d_model"], settings["encoder_layers"], settings["decoder_layers"],
                settings["encoder_ffn_dim"], settings["vocab_size"], settings["max_source_positions"],
                settings["max_target_positions"],
            )), settings["max_source_positions"] / 50.0
    name = Path(base).name.lower()
    for size in sorted(WHISPER_PARAMETERS, key=len, reverse=True):
        if size in name:
            return WHISPER_PARAMETERS[size], 30.0
    return WHISPER_PARAMETERS["large"], 30.0  # unknown: ask for the largest Whisper


def whisper_parameters(
    d_model: int, encoder_layers: int, decoder_layers: int, ffn_dim: int, vocab: int,
    source_positions: int = 1500, target_positions: int = 448,
) -> int:
    """Parameters of a Whisper of this shape (tied output embedding; biases and norms omitted,
    under 1 % from base up): encoder layers 4d² + 2·d·ffn, decoder layers 8d² + 2·d·ffn, the
    token and position embeddings and the two input convolutions."""
    encoder = encoder_layers * (4 * d_model**2 + 2 * d_model * ffn_dim)
    decoder = decoder_layers * (8 * d_model**2 + 2 * d_model * ffn_dim)
    embeddings = (vocab + source_positions + target_positions) * d_model
    return encoder + decoder + embeddings + 3 * 80 * d_model + 3 * d_model**2
