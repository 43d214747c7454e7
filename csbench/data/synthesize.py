"""Turn generated sentences into 16 kHz speech and a manifest.

Each same-language run of tokens is spoken by that language's eSpeak voice (the Korean
voice would read an English word with Korean phonetics), with one speaker variant, rate
and pitch per utterance, short pauses at the switch points, and optional noise at an SNR.
Pools of distinct sentences are drawn in the fixed order test, dev, train from one seeded
stream per pair, so splits never share a sentence and the test set does not change when a
user enlarges the training set. Every utterance is spoken by a freshly reloaded eSpeak (see
`Espeak.reset`) and noise has its own seeded stream, so the bytes of a split depend only on
the seed, the domain, the split sizes and the settings, not on what the process did before.
"""

from __future__ import annotations

import hashlib
import io
import logging
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import soxr

from csbench.data.espeak import Voice, get_engine
from csbench.data.leakage import language_vocabularies, producible_by_another_pair
from csbench.data.lexicon import load_lexicon
from csbench.data.manifest import SAMPLE_RATE
from csbench.data.text import (
    Sentence,
    code_switched_sentence,
    monolingual_utterance,
    unique_sentences,
)
from csbench.io import atomic_path, write_jsonl
from csbench.languages import SUPPORTED_LANGUAGES
from csbench.progress import progress

logger = logging.getLogger(__name__)

SPLIT_ORDER = ("test", "dev", "train")
VOICE_VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+f1", "+f2", "+f3", "+f4")
#: Candidates drawn per requested utterance, so utterances over the length limit can be
#: skipped without ever borrowing a sentence from another split.
CANDIDATES_PER_UTTERANCE = 2


@dataclass(frozen=True)
class SynthesisSettings:
    """What shapes the audio: speaker ranges, pauses, noise and the length limit."""

    rate_range: tuple[int, int] = (150, 195)
    pitch_range: tuple[int, int] = (30, 70)
    pause_range_s: tuple[float, float] = (0.06, 0.18)
    noise_snr_db: float | None = None
    max_duration_s: float = 6.0
    #: Sentences per monolingual utterance (the local base's pretraining data).
    monolingual_sentences: int = 1
    #: Concepts kept per part of speech ({"noun": 200, "np": 50}); None keeps the whole lexicon.
    lexicon_limits: dict[str, int | None] | None = None
    #: An unseen pair's test set: pass over sentences another pair could also produce
    #: (`csbench.data.leakage.producible_by_another_pair`).
    held_out: bool = False


def stable_seed(*parts: object) -> int:
    """A seed derived from `parts` that is the same in every process and Python version."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def sentence_pool(
    domain: str,
    sizes: dict[str, int],
    split: str,
    seed: int,
    levels: tuple[str, ...],
    lexicon_limits: dict[str, int | None] | None = None,
    sentences_per_utterance: int = 1,
    held_out: bool = False,
) -> list[Sentence]:
    """The candidate sentences of `split` for a pair ('en-ko') or a language ('mono-ko').

    Monolingual utterances hold `sentences_per_utterance` sentences. A `held_out` pool (an
    unseen pair's) passes over every sentence another pair could produce, so no seen pair's
    training set can hold one of its texts.
    """
    lexicon = load_lexicon()
    if lexicon_limits:
        lexicon = lexicon.subset(lexicon_limits, seed)
    counts = [CANDIDATES_PER_UTTERANCE * sizes.get(name, 0) for name in SPLIT_ORDER]
    needed = SPLIT_ORDER.index(split) + 1
    rng = random.Random(stable_seed(seed, domain, "text"))
    if domain.startswith("mono-"):
        lang = domain.removeprefix("mono-")

        def make(r: random.Random) -> Sentence:
            return monolingual_utterance(lexicon, lang, r, sentences_per_utterance)
    else:
        counter = iter(range(10**9))

        def make(r: random.Random) -> Sentence:
            return code_switched_sentence(lexicon, domain, levels[next(counter) % len(levels)], r)

    accept = None
    if held_out:
        vocabularies = language_vocabularies(lexicon)

        def accept(sentence: Sentence) -> bool:
            return not producible_by_another_pair(sentence, vocabularies)

    pool = unique_sentences(make, sum(counts[:needed]), rng, f"{domain} ({split})", accept)
    start = sum(counts[: needed - 1])
    return pool[start:]


def _trim(samples: np.ndarray, threshold: int = 300, margin: int = 400) -> np.ndarray:
    """Cut eSpeak's leading and trailing silence, keeping a short margin."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    if loud.size == 0:
        return samples[:0]
    return samples[max(0, loud[0] - margin) : loud[-1] + margin]


def speak(
    sentence: Sentence,
    rng: random.Random,
    settings: SynthesisSettings,
    noise_rng: random.Random | None = None,
) -> tuple[np.ndarray, dict]:
    """Synthesize one sentence; return float32 16 kHz samples and the speaker it used.

    `rng` draws the speaker and pauses; noise is drawn from `noise_rng` (default: `rng`)
    so that turning noise on changes neither the speakers nor, through their speaking rate,
    which sentences fit under the length limit. The engine is reset first, so the samples
    depend only on this sentence and these draws, not on earlier utterances.
    """
    engine = get_engine()
    engine.reset()
    speaker = {
        "variant": rng.choice(VOICE_VARIANTS),
        "rate": rng.randint(*settings.rate_range),
        "pitch": rng.randint(*settings.pitch_range),
    }
    pieces: list[np.ndarray] = []
    for index, (lang, text) in enumerate(sentence.segments()):
        voice = Voice(
            SUPPORTED_LANGUAGES[lang]["voice"] + speaker["variant"], speaker["rate"], speaker["pitch"]
        )
        if index:
            pause = int(rng.uniform(*settings.pause_range_s) * engine.sample_rate)
            pieces.append(np.zeros(pause, dtype=np.int16))
        pieces.append(_trim(engine.synthesize(text, voice)))
    edge = np.zeros(int(0.1 * engine.sample_rate), dtype=np.int16)
    native = np.concatenate([edge, *pieces, edge]).astype(np.float32) / 32768.0
    samples = soxr.resample(native, engine.sample_rate, SAMPLE_RATE).astype(np.float32)
    if settings.noise_snr_db is not None:
        generator = np.random.default_rng((noise_rng or rng).getrandbits(63))
        signal_power = float(np.mean(samples**2)) or 1e-10
        noise_power = signal_power / (10 ** (settings.noise_snr_db / 10))
        samples = samples + generator.normal(0.0, np.sqrt(noise_power), samples.shape).astype(
            np.float32
        )
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > 0.99:
        samples = samples * (0.99 / peak)
    return samples, speaker


def synthesize_split(
    domain: str,
    split: str,
    sizes: dict[str, int],
    manifest_path: str | Path,
    audio_dir: str | Path,
    seed: int,
    levels: tuple[str, ...] = ("word", "phrase", "sentence"),
    settings: SynthesisSettings | None = None,
) -> int:
    """Write `sizes[split]` utterances of `domain` as WAVs plus a manifest; return the count.

    Both outputs appear atomically: the WAV folder and the manifest are written under
    temporary names and renamed only when every utterance is done.
    """
    settings = settings or SynthesisSettings()
    wanted = sizes[split]
    candidates = sentence_pool(
        domain,
        sizes,
        split,
        seed,
        levels,
        settings.lexicon_limits,
        settings.monolingual_sentences,
        settings.held_out,
    )
    rng = random.Random(stable_seed(seed, domain, split, "speech"))
    noise_rng = random.Random(stable_seed(seed, domain, split, "noise"))
    manifest_path, audio_dir = Path(manifest_path), Path(audio_dir)
    rows = []
    skipped = 0
    with atomic_path(audio_dir) as temporary_audio:
        temporary_audio.mkdir(parents=True)
        bar = progress(range(wanted), total=wanted, desc=f"synthesize {domain} {split}", unit="utt")
        candidate_iter = iter(candidates)
        for index in bar:
            while True:
                sentence = next(candidate_iter, None)
                if sentence is None:
                    raise ValueError(
                        f"{domain} {split}: too many sentences exceed max_duration_s="
                        f"{settings.max_duration_s}; raise it or the speaking rate"
                    )
                samples, speaker = speak(sentence, rng, settings, noise_rng)
                duration = samples.size / SAMPLE_RATE
                if duration <= settings.max_duration_s:
                    break
                skipped += 1
            utterance_id = f"{domain}-{split}-{index:05d}"
            file_name = f"{utterance_id}.wav"
            # Encode in memory: writing to a path makes libsndfile fsync every file on
            # close, which cost more than the synthesis itself. The bytes are the same.
            wav = io.BytesIO()
            soundfile.write(wav, samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")
            (temporary_audio / file_name).write_bytes(wav.getvalue())
            rows.append(
                {
                    "id": utterance_id,
                    "audio": str(Path(audio_dir.name) / file_name)
                    if audio_dir.parent == manifest_path.parent
                    else str(audio_dir.resolve() / file_name),
                    "text": sentence.text,
                    "tokens": [[token.text, token.lang] for token in sentence.tokens],
                    "duration": round(duration, 4),
                    "pair": domain,
                    "matrix_lang": sentence.matrix_lang,
                    "cs_level": sentence.cs_level,
                    "templates": sentence.templates,
                    "speaker": speaker,
                }
            )
    write_jsonl(manifest_path, rows)
    if skipped:
        logger.info("%s %s: skipped %d sentences longer than %.1f s", domain, split, skipped,
                    settings.max_duration_s)
    return len(rows)
