"""Batched, length-sorted greedy decoding with per-utterance language tokens.

Utterances are sorted by duration so each batch pads little, and grouped by language
token because `generate` takes one prompt layout per batch. Timing (audio seconds, wall
seconds, RTFx = audio / wall) is measured around decoding only, after a warm-up batch,
as the Open ASR Leaderboard does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from itertools import groupby

import torch
from transformers import WhisperForConditionalGeneration, WhisperProcessor

from csbench.data.manifest import Utterance
from csbench.errors import ConfigError, OutOfMemoryError
from csbench.metrics import mixed_error_rate
from csbench.models.loading import has_native_bf16
from csbench.progress import LoggedProgress

LANGUAGE_MODES = ("matrix", "first", "auto")
#: evaluate.precision: auto = fp16 on a GPU, fp32 on a CPU; bf16 where the device computes it
#: natively (else fp32, with a warning); fp32 everywhere.
DECODE_PRECISIONS = ("auto", "bf16", "fp32")
logger = logging.getLogger(__name__)


class _LengthWarningFilter(logging.Filter):
    """Drop transformers' "Both `max_new_tokens` and `max_length` seem to have been set".

    Whisper's `generate` keeps `max_length` in its generation config (448 for a real Whisper)
    and csbench passes `max_new_tokens`, which transformers documents as taking precedence; the
    warning then came once per batch into every evaluation log (seen on whisper-base and the
    tiny base) and said nothing the user could act on.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "`max_new_tokens` will take precedence" not in record.getMessage()


logging.getLogger("transformers.generation.utils").addFilter(_LengthWarningFilter())


def decode_dtype(device: torch.device, precision: str = "auto") -> torch.dtype:
    """The dtype the model's weights are cast to for decoding under evaluate.precision.

    Why bf16 is offered: a real Whisper's 30-second encoder window is compute-bound on a CPU,
    and bf16 on AMX runs those matmuls ~3x faster (whisper-base on 16 de-en test utterances,
    2 threads, `benchmarks/decode_rtfx.py`: RTFx 5.6 -> 15.9); it changes hypotheses (2 of
    those 16; 8 of 16 on another draw of de-en), so it is a setting, never a silent default,
    and every model of a study is decoded at the one precision.
    """
    if precision not in DECODE_PRECISIONS:
        raise ConfigError(f"unknown evaluate.precision {precision!r}; expected one of {DECODE_PRECISIONS}")
    if precision == "fp32":
        return torch.float32
    if precision == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if not has_native_bf16(device):
        logger.warning("evaluate.precision bf16: this %s has no native bf16; decoding in fp32", device.type)
        return torch.float32
    return torch.bfloat16


def language_for(utterance: Utterance, mode: str) -> str | None:
    """The decoder language token for `utterance` under `mode`.

    matrix: the utterance's matrix language; first: the first language of its pair;
    auto: none given, Whisper detects it.
    """
    if mode == "matrix":
        return utterance.matrix_lang or None
    if mode == "first":
        return utterance.pair.split("-")[0] if utterance.pair else None
    if mode == "auto":
        return None
    raise ConfigError(f"unknown decoding language mode {mode!r}; expected one of {LANGUAGE_MODES}")


def decode_batches(
    utterances: list[Utterance], language_mode: str, batch_size: int
) -> list[tuple[str | None, list[Utterance]]]:
    """The (language token, utterances) batches `transcribe` decodes, in its order.

    Grouped by language token (one prompt layout per `generate` call), longest first within
    a language so each batch pads little.
    """
    ordered = sorted(utterances, key=lambda u: (language_for(u, language_mode) or "", -u.duration))
    batches: list[tuple[str | None, list[Utterance]]] = []
    for language, group in groupby(ordered, key=lambda u: language_for(u, language_mode)):
        members = list(group)
        batches += [(language, members[i : i + batch_size]) for i in range(0, len(members), batch_size)]
    return batches


@torch.inference_mode()
def transcribe(
    model: WhisperForConditionalGeneration,
    processor: WhisperProcessor,
    utterances: list[Utterance],
    language_mode: str = "matrix",
    batch_size: int = 32,
    max_new_tokens: int = 96,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    batch_size_setting: str = "evaluate.batch_size",
    done: Mapping[str, str] | None = None,
    on_batch: Callable[[dict[str, str]], None] | None = None,
) -> tuple[dict[str, str], dict[str, float]]:
    """Decode every utterance; return {id: raw hypothesis} and timing statistics.

    `done` holds hypotheses decoded earlier (a journal of a killed run): a batch whose
    utterances are all in it is not decoded again. The batches are formed over all
    `utterances` either way, so a resumed run decodes the rest in exactly the batches an
    uninterrupted run would (same padding, same kernels, same hypotheses). `on_batch` gets
    each newly decoded batch's {id: hypothesis}. Timing covers what was decoded now.
    Running out of GPU memory stops with a one-line message naming `batch_size_setting`.
    """
    batches = decode_batches(utterances, language_mode, batch_size)
    done = done or {}
    hypotheses = {u.id: done[u.id] for u in utterances if u.id in done}
    batches = [(language, members) for language, members in batches
               if not all(u.id in hypotheses for u in members)]
    model = model.to(device=device, dtype=dtype).eval()
    audio = {u.id: u.load_audio() for _, members in batches for u in members}

    def run(language: str | None, members: list[Utterance]) -> list[str]:
        features = processor.feature_extractor(
            [audio[u.id] for u in members], sampling_rate=16_000, return_tensors="pt"
        ).input_features.to(device=device, dtype=dtype)
        generated = model.generate(
            features,
            language=language,
            task="transcribe",
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
        )
        return processor.tokenizer.batch_decode(generated, skip_special_tokens=True)

    if batches:  # warm-up, excluded from timing
        run(batches[0][0], batches[0][1][:1])
    bar = LoggedProgress(total=len(utterances), initial=len(hypotheses), desc="decode", unit="utt")
    started = time.perf_counter()
    for language, members in batches:
        try:
            texts = run(language, members)
        except torch.cuda.OutOfMemoryError as error:
            raise OutOfMemoryError.during("while decoding", len(members), batch_size_setting, error) from None
        batch = {utterance.id: text for utterance, text in zip(members, texts, strict=True)}
        hypotheses.update(batch)
        if on_batch is not None:
            on_batch(batch)
        bar.update(len(members))
    wall = time.perf_counter() - started
    bar.close()
    audio_seconds = sum(len(samples) for samples in audio.values()) / 16_000
    timing = {"audio_s": audio_seconds, "wall_s": wall, "rtfx": audio_seconds / wall if wall else 0.0}
    return hypotheses, timing


def dev_mixed_error_rate(
    model: WhisperForConditionalGeneration,
    processor: WhisperProcessor,
    dev: list[Utterance],
    language_mode: str = "matrix",
    max_new_tokens: int = 96,
    device: torch.device | str = "cpu",
) -> float:
    """Corpus MER of `model` on `dev`: the one score every hyperparameter search minimizes
    (merge grids in csbench.merge.selection, DG grids in csbench.dg.selection), so the two
    families are tuned by the same procedure."""
    hypotheses, _ = transcribe(model, processor, dev, language_mode, max_new_tokens=max_new_tokens, device=device)
    return mixed_error_rate([u.text for u in dev], [hypotheses[u.id] for u in dev])
