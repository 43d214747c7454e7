"""The manifest format every data source becomes: one JSON object per utterance.

Fields: `id`, `audio` (path relative to the manifest's folder, or absolute), `text`,
`tokens` ([[word, lang], ...] per-token language tags, may be empty for real corpora
without tags), `duration` (seconds), `pair`, `matrix_lang`, `cs_level`, `speaker`.
Reading validates every row, so a bad corpus fails with its file, line and field named
instead of deep inside training.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from csbench.errors import ManifestError

logger = logging.getLogger(__name__)
SAMPLE_RATE = 16_000
REQUIRED_FIELDS = ("id", "audio", "text", "duration")


@dataclass(frozen=True)
class Utterance:
    """One manifest row with its audio path resolved."""

    id: str
    audio: Path
    text: str
    tokens: tuple[tuple[str, str], ...]
    duration: float
    pair: str
    matrix_lang: str
    cs_level: str
    #: (Korean, English) spellings of the utterance's loanwords (HiKE's labels), for
    #: ``evaluate.hike_scoring``; empty where the source has none.
    loanwords: tuple[tuple[str, str], ...] = ()

    def load_audio(self) -> np.ndarray:
        """Float32 mono samples at 16 kHz; raises ManifestError naming the file if unusable."""
        return load_audio(self.audio)


def load_audio(path: Path) -> np.ndarray:
    """Read a WAV/FLAC as float32 mono 16 kHz, resampling (with soxr) when needed."""
    if not path.exists():
        raise ManifestError(f"{path}: audio file is missing")
    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except Exception as error:  # soundfile raises several types for corrupt files
        raise ManifestError(f"{path}: audio file cannot be decoded ({error})") from error
    samples = samples.mean(axis=1)
    if rate != SAMPLE_RATE:
        import soxr

        logger.warning("%s: sample rate %d Hz, resampled to %d Hz", path, rate, SAMPLE_RATE)
        samples = soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32)
    if samples.size == 0:
        raise ManifestError(f"{path}: audio file holds no samples")
    return samples


def read_manifest(path: str | Path) -> list[Utterance]:
    """Read and validate a JSONL manifest."""
    path = Path(path)
    utterances: list[Utterance] = []
    seen: set[str] = set()
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ManifestError(f"{where}: not valid JSON ({error.msg})") from error
        for name in REQUIRED_FIELDS:
            if name not in row:
                raise ManifestError(f"{where}: field '{name}' is missing")
        if not str(row["text"]).strip():
            raise ManifestError(f"{where}: field 'text' is empty for utterance {row['id']!r}")
        if row["id"] in seen:
            raise ManifestError(f"{where}: field 'id' repeats utterance id {row['id']!r}")
        seen.add(row["id"])
        audio = Path(row["audio"])
        utterances.append(
            Utterance(
                id=str(row["id"]),
                audio=audio if audio.is_absolute() else path.parent / audio,
                text=str(row["text"]),
                tokens=tuple((str(word), str(lang)) for word, lang in row.get("tokens", [])),
                duration=float(row["duration"]),
                pair=str(row.get("pair", "")),
                matrix_lang=str(row.get("matrix_lang", "")),
                cs_level=str(row.get("cs_level", "")),
                loanwords=tuple((str(korean), str(english)) for korean, english in row.get("loanwords") or []),
            )
        )
    if not utterances:
        raise ManifestError(f"{path}: manifest holds no utterances")
    return utterances
