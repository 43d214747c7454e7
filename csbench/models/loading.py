"""Load any Whisper checkpoint (the local tiny base, a saved fine-tune, or a hub id).

One loader for all of them is what makes the offline default a faithful stand-in for
`openai/whisper-medium`: the tiny base goes through `from_pretrained` like any other.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from transformers import AutoConfig, WhisperForConditionalGeneration, WhisperProcessor

from csbench.errors import ModelLoadError
from csbench.hub import hub_failure_reason
from csbench.io import atomic_path

logger = logging.getLogger(__name__)


def resolve_device(device: str) -> torch.device:
    """'auto' → the first visible CUDA device, else CPU; otherwise the device named."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def has_native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bf16 in hardware: a CUDA GPU with bf16 (Ampere or newer) or a
    CPU with AVX512-BF16 or AMX. Elsewhere bf16 is emulated and slower than fp32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def _check_architecture(source: str) -> None:
    try:
        config = AutoConfig.from_pretrained(source)
    except OSError as error:
        local = Path(source).exists()
        where = "local directory" if local else "Hugging Face model id"
        reason = str(error).splitlines()[0] if local else hub_failure_reason(error)
        raise ModelLoadError(
            f"cannot load Whisper model {source!r} ({where}): {reason} — "
            "with no hub access, point base_model at a local copy saved with save_pretrained"
        ) from error
    if config.model_type != "whisper":
        raise ModelLoadError(
            f"model {source!r} is a {config.model_type!r} model; csbench needs a Whisper "
            "checkpoint (model_type 'whisper')"
        )


def load_processor(source: str | Path) -> WhisperProcessor:
    """The tokenizer and feature extractor saved beside a checkpoint."""
    try:
        return WhisperProcessor.from_pretrained(str(source))
    except OSError as error:
        raise ModelLoadError(
            f"cannot load the Whisper processor of {str(source)!r}: {str(error).splitlines()[0]}"
        ) from error


def load_whisper(source: str | Path, device: torch.device | str = "cpu") -> WhisperForConditionalGeneration:
    """Load a Whisper model in float32 on `device`, in eval mode."""
    source = str(source)
    _check_architecture(source)
    model = WhisperForConditionalGeneration.from_pretrained(source, torch_dtype=torch.float32)
    return model.to(device).eval()


def download_model(model_id: str, output: str | Path, cache_dir: str | None = None) -> None:
    """Fetch a hub Whisper checkpoint and save model, processor and generation config locally.

    Run by the `download_model` rule only (a local rule, so on a machine with internet):
    every later job loads `output` with the same `from_pretrained` code as the tiny base and
    never contacts the hub. Loading before saving checks the checkpoint is a Whisper model
    with a processor, and keeps only the safetensors weights (no TF/Flax copies).
    """
    try:
        config = AutoConfig.from_pretrained(model_id, cache_dir=cache_dir)
        if config.model_type != "whisper":
            raise ModelLoadError(
                f"model {model_id!r} is a {config.model_type!r} model; csbench needs a Whisper "
                "checkpoint (model_type 'whisper')"
            )
        model = WhisperForConditionalGeneration.from_pretrained(
            model_id, cache_dir=cache_dir, torch_dtype=torch.float32
        )
        processor = WhisperProcessor.from_pretrained(model_id, cache_dir=cache_dir)
    except ModelLoadError:
        raise
    except Exception as error:  # transformers wraps hub failures in OSError, not always
        raise ModelLoadError(
            f"cannot download {model_id} ({hub_failure_reason(error)}): set base_model to a local "
            "folder saved with save_pretrained"
        ) from error
    with atomic_path(output) as temporary:
        model.save_pretrained(temporary)
        processor.save_pretrained(temporary)
    logger.info("%s → %s", model_id, output)
