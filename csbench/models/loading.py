"""Load any Whisper checkpoint (the local tiny base, a saved fine-tune, or a hub id).

One loader for all of them is what makes the offline default a faithful stand-in for
`openai/whisper-medium`: the tiny base goes through `from_pretrained` like any other.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from transformers import AutoConfig, WhisperForConditionalGeneration, WhisperProcessor

logger = logging.getLogger(__name__)


class ModelLoadError(RuntimeError):
    """A model cannot be loaded; the message says which and what to do, in one line."""


def resolve_device(device: str) -> torch.device:
    """'auto' → the first visible CUDA device, else CPU; otherwise the device named."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _check_architecture(source: str) -> None:
    try:
        config = AutoConfig.from_pretrained(source)
    except OSError as error:
        where = "local directory" if Path(source).exists() else "Hugging Face model id"
        raise ModelLoadError(
            f"cannot load Whisper model {source!r} ({where}): {str(error).splitlines()[0]} — "
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
