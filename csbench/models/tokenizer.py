"""A byte-level BPE Whisper tokenizer trained locally, with Whisper's special-token layout.

Whisper's tokenizer and `generate` compute a language token's id as
`id(<|startoftranscript|>) + 1 + index in LANGUAGES`, so all 100 language tokens must be
present, consecutive and in Whisper's order even if the model only ever hears four.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from tokenizers import AddedToken, ByteLevelBPETokenizer
from transformers import WhisperTokenizer
from transformers.models.whisper.tokenization_whisper import LANGUAGES

TASK_TOKENS = ("<|translate|>", "<|transcribe|>")
TRAILING_SPECIAL_TOKENS = ("<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>")


def special_tokens(window_s: float) -> list[str]:
    """Whisper's special tokens in Whisper's order, with timestamps for a `window_s` window."""
    timestamps = [f"<|{index * 0.02:.2f}|>" for index in range(int(round(window_s / 0.02)) + 1)]
    return [
        "<|endoftext|>",
        "<|startoftranscript|>",
        *(f"<|{code}|>" for code in LANGUAGES),
        *TASK_TOKENS,
        *TRAILING_SPECIAL_TOKENS,
        *timestamps,
    ]


def text_token_mask(ids, config):
    """Which of `ids` (a tensor) are text tokens: the ids below `config.eos_token_id`, since
    Whisper and the local base put every special token (<|endoftext|>, the prompt, timestamps)
    after the text vocabulary; -100 label padding is not text either. The one home of that rule
    for the trainers that treat text tokens apart (decoder-input corruption, the CTC targets)."""
    return (ids >= 0) & (ids < int(config.eos_token_id))


def train_tokenizer(texts: Iterable[str], vocab_size: int, window_s: float) -> WhisperTokenizer:
    """Train byte-level BPE on `texts` and wrap it as a `WhisperTokenizer`."""
    bpe = ByteLevelBPETokenizer(add_prefix_space=False)
    bpe.train_from_iterator(list(texts), vocab_size=vocab_size, min_frequency=2, show_progress=False)
    model = json.loads(bpe._tokenizer.to_str())["model"]
    merges = [tuple(merge) if isinstance(merge, list) else tuple(merge.split(" ")) for merge in model["merges"]]
    tokenizer = WhisperTokenizer(vocab=model["vocab"], merges=merges)
    tokenizer.add_tokens(
        [AddedToken(token, special=True, normalized=False) for token in special_tokens(window_s)],
        special_tokens=True,
    )
    return tokenizer
