"""Turn manifest utterances into Whisper training batches.

Labels follow Whisper's own training format: `<|lang|><|transcribe|><|notimestamps|> text
<|endoftext|>`, with `<|startoftranscript|>` supplied by the model as decoder start token.
For code-switched speech the language token is the utterance's matrix language.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

import numpy as np
import torch
from transformers import WhisperProcessor

from csbench.data.manifest import Utterance
from csbench.errors import ManifestError

logger = logging.getLogger(__name__)
#: Above this many bytes of log-mel features, features are computed per batch, not cached.
FEATURE_CACHE_LIMIT_BYTES = 2 * 1024**3


@dataclass
class Batch:
    """Model inputs plus the utterance ids (to name the batch when something goes wrong)."""

    input_features: torch.Tensor
    labels: torch.Tensor
    ids: list[str]
    domain: str = ""

    def to(self, device: torch.device) -> Batch:
        return Batch(self.input_features.to(device), self.labels.to(device), self.ids, self.domain)


def prompt_ids(processor: WhisperProcessor, language: str | None) -> list[int]:
    """Decoder prompt after <|startoftranscript|>: language (optional), task, no timestamps."""
    ids = processor.tokenizer.convert_tokens_to_ids
    prompt = [ids(f"<|{language}|>")] if language else []
    return prompt + [ids("<|transcribe|>"), ids("<|notimestamps|>")]


def label_ids(processor: WhisperProcessor, text: str, language: str | None) -> list[int]:
    """Label sequence for one utterance (without the decoder start token)."""
    tokenizer = processor.tokenizer
    body = tokenizer.encode(" " + text.strip(), add_special_tokens=False)
    return prompt_ids(processor, language) + body + [tokenizer.eos_token_id]


class FeatureStore:
    """Log-mel features per utterance, cached in memory when the corpus is small enough."""

    def __init__(self, processor: WhisperProcessor, utterances: list[Utterance]) -> None:
        self.processor = processor
        extractor = processor.feature_extractor
        per_utterance = extractor.feature_size * extractor.nb_max_frames * 4
        self.cache_enabled = per_utterance * len(utterances) <= FEATURE_CACHE_LIMIT_BYTES
        self._cache: dict[str, np.ndarray] = {}

    def _compute(self, utterances: list[Utterance]) -> np.ndarray:
        return self.processor.feature_extractor(
            [u.load_audio() for u in utterances], sampling_rate=16_000, return_tensors="np"
        ).input_features

    def features(self, utterances: list[Utterance]) -> torch.Tensor:
        if not self.cache_enabled:
            return torch.from_numpy(self._compute(utterances))
        missing = [u for u in utterances if u.id not in self._cache]
        if missing:
            for utterance, features in zip(missing, self._compute(missing), strict=True):
                self._cache[utterance.id] = features
        return torch.from_numpy(np.stack([self._cache[u.id] for u in utterances]))


class EpochSampler:
    """Batch indices for any step, as a pure function of (seed, step).

    Each epoch is a fresh seeded permutation; computing a step's batch from scratch is
    what lets a resumed run see exactly the batches an uninterrupted run would have seen.
    """

    def __init__(self, size: int, batch_size: int, seed: int) -> None:
        if size == 0:
            raise ManifestError("cannot train on an empty training set")
        self.size, self.batch_size, self.seed = size, min(batch_size, size), seed
        self.per_epoch = max(1, size // self.batch_size)
        self._permutations: dict[int, list[int]] = {}

    def indices(self, step: int) -> list[int]:
        epoch, position = divmod(step, self.per_epoch)
        if epoch not in self._permutations:
            order = list(range(self.size))
            random.Random(f"{self.seed}/{epoch}").shuffle(order)
            self._permutations = {epoch: order}
        start = position * self.batch_size
        return self._permutations[epoch][start : start + self.batch_size]


def make_batch(
    store: FeatureStore, utterances: list[Utterance], language_of, domain: str = ""
) -> Batch:
    """Features and padded labels (-100 where padded) for `utterances`."""
    sequences = [label_ids(store.processor, u.text, language_of(u)) for u in utterances]
    width = max(len(sequence) for sequence in sequences)
    labels = torch.full((len(sequences), width), -100, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        labels[row, : len(sequence)] = torch.tensor(sequence)
    return Batch(store.features(utterances), labels, [u.id for u in utterances], domain)


def matrix_language(utterance: Utterance) -> str | None:
    """The language token used for an utterance: its matrix language, if known."""
    return utterance.matrix_lang or None
