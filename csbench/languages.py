"""Language codes, scripts and canonical pair ids shared by every stage.

Pairs are unordered ("ko-en" and "en-ko" are one pair) so that results, file names and
merge-combination ids never depend on how a user happened to write a pair in the config.
"""

from __future__ import annotations

import unicodedata
from itertools import combinations

#: Languages the offline synthetic generator can voice (libespeak-ng 1.52), with the
#: eSpeak voice name and the script their text is written in. Japanese is written in kana
#: only because eSpeak reads every kanji as "Chinese letter".
SUPPORTED_LANGUAGES: dict[str, dict[str, str]] = {
    "en": {"name": "English", "voice": "en-us", "script": "latin"},
    "ko": {"name": "Korean", "voice": "ko", "script": "hangul"},
    "ja": {"name": "Japanese", "voice": "ja", "script": "kana"},
    "de": {"name": "German", "voice": "de", "script": "latin"},
    "zh": {"name": "Mandarin Chinese", "voice": "cmn", "script": "han"},
    "es": {"name": "Spanish", "voice": "es", "script": "latin"},
    "fr": {"name": "French", "voice": "fr", "script": "latin"},
    "hi": {"name": "Hindi", "voice": "hi", "script": "devanagari"},
}

#: Every language code Whisper knows, so real checkpoints and corpora can use any of them.
#: Imported lazily from transformers to keep this module light.
def whisper_language_codes() -> list[str]:
    """Whisper's 100 language codes in Whisper's own order (token ids depend on it)."""
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    return list(LANGUAGES.keys())


#: Han code points beyond the unified block: extension A, compatibility ideographs, the
#: supplementary-plane extensions B-H and compatibility supplement, and the ideographic
#: marks written inside Han words (々 iteration, 〆 closing, 〇 zero, 〻, Hangzhou numerals).
_HAN_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0xF900, 0xFAFF), (0x20000, 0x323AF),
               (0x3005, 0x3007), (0x3021, 0x3029), (0x3038, 0x303B))


def _is_han(code: int) -> bool:
    return any(low <= code <= high for low, high in _HAN_RANGES)


def char_script(char: str) -> str:
    """The script of one character: latin, hangul, kana, han, devanagari, other, or space.

    Scripts are read from Unicode character names, which is what makes mixed-script
    tokenization and script-confusion checks independent of any language model.
    """
    if char.isspace():
        return "space"
    code = ord(char)
    if 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return "hangul"
    if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9F:
        return "kana"
    if _is_han(code):
        return "han"
    if 0x0900 <= code <= 0x097F:
        return "devanagari"
    name = unicodedata.name(char, "")
    if name.startswith("LATIN") or char.isascii() and char.isalpha():
        return "latin"
    return "other"


def canonical_pair(pair: str) -> str:
    """Return the order-free id of a language pair: its two codes sorted, joined by '-'.

    >>> canonical_pair("ko-en")
    'en-ko'
    """
    parts = pair.split("-")
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"language pair {pair!r} must look like 'ko-en' (two codes joined by '-')")
    first, second = parts
    if first == second:
        raise ValueError(f"language pair {pair!r} joins a language with itself")
    return "-".join(sorted((first, second)))


def pair_languages(pair: str) -> tuple[str, str]:
    """The two language codes of a canonical pair id."""
    first, second = canonical_pair(pair).split("-")
    return first, second


def canonical_combination(pairs: list[str] | tuple[str, ...]) -> str:
    """Return the order-free id of a set of pairs, e.g. 'de-en+en-ja+en-ko'."""
    return "+".join(sorted(canonical_pair(p) for p in pairs))


def combination_members(combination: str) -> list[str]:
    """The canonical pair ids in a combination id."""
    return combination.split("+")


def all_combinations(pairs: list[str], min_size: int = 2) -> list[str]:
    """Every subset of `pairs` with at least `min_size` members, as combination ids."""
    unique = sorted({canonical_pair(p) for p in pairs})
    return [
        canonical_combination(list(subset))
        for size in range(min_size, len(unique) + 1)
        for subset in combinations(unique, size)
    ]
