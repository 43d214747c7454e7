"""HiKE's published scoring conventions, so csbench's numbers can stand beside HiKE's.

HiKE (Paik et al., Findings of EACL 2026; the benchmark's evaluation code at
github.com/ThetaOne-AI/HiKE, ``src/main.py``, ``src/utils.py``, ``src/metrics/mer.py``)
scores Korean-English code-switched ASR differently from csbench's default in four ways:

1. **Loanword substitution.** Each test utterance lists its loanwords as (Korean, English)
   spellings; before scoring, every Korean spelling is replaced by the English one in both the
   hypothesis and the reference, so "버그" and "bug" count as the same word.
2. **Hypothesis normalization** with jiwer's transforms: lower case, common English
   contractions expanded ("i'm" → "i am"), Kaldi non-words removed ("[noise]", "<unk>"),
   "—" to a space, punctuation removed, whitespace collapsed. The reference is HiKE's
   ``text_normalized`` column and is not normalized again.
3. **Tokens**: every precomposed Hangul syllable (U+AC00–U+D7A3) is a token; everything else
   is split on whitespace. Kana and Han are words there (csbench: characters), which does not
   matter for Korean-English.
4. **Per-utterance averaging**: MER is computed per utterance ((S + D + I) / N, jiwer's WER
   over those tokens) and the reported number is the MEAN over utterances (overall and per
   CS level), where csbench's default is corpus-level (total edits / total reference tokens).
   A two-token utterance weighs as much as a fifty-token one; HiKE reports percent, csbench
   a fraction.

csbench reports these as the ``mer_hike`` metric rows (and ``mer_hike_<level>`` per CS
level) when ``evaluate.hike_scoring`` is on; the default ``mer`` is unchanged. The
transforms are jiwer's own, so the normalization is the one HiKE runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import jiwer
from jiwer.transforms import (
    Compose,
    ExpandCommonEnglishContractions,
    RemoveKaldiNonWords,
    RemoveMultipleSpaces,
    RemovePunctuation,
    RemoveWhiteSpace,
    Strip,
    SubstituteWords,
    ToLowerCase,
)

#: A precomposed Hangul syllable: HiKE's token unit for Korean.
_HANGUL_SYLLABLE = re.compile(r"([\uAC00-\uD7A3])")

_NORMALIZE_HYPOTHESIS = Compose(
    [
        ToLowerCase(),
        ExpandCommonEnglishContractions(),
        RemoveKaldiNonWords(),
        SubstituteWords({"—": " "}),
        RemovePunctuation(),
        RemoveWhiteSpace(replace_by_space=True),
        RemoveMultipleSpaces(),
        Strip(),
    ]
)

Loanwords = Sequence[tuple[str, str]]


def parse_loanwords(value: object) -> list[tuple[str, str]]:
    """(Korean, English) pairs from HiKE's ``loanwords`` column: a JSON string or a list of
    ``{"Korean": …, "English": …}`` objects (or of two-item lists); empty for None/""."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = json.loads(value)
    pairs = []
    for entry in value:  # type: ignore[union-attr]
        try:
            korean, english = (entry["Korean"], entry["English"]) if isinstance(entry, dict) else entry
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"a loanword is {entry!r}; expected {{'Korean': ..., 'English': ...}}") from None
        pairs.append((str(korean), str(english)))
    return pairs


def substitute_loanwords(text: str, loanwords: Loanwords) -> str:
    """Every Korean spelling replaced by its English one, in the listed order (HiKE's step 1)."""
    for korean, english in loanwords:
        text = text.replace(korean, english)
    return text


def normalize_hypothesis(text: str) -> str:
    """HiKE's hypothesis normalization (step 2)."""
    return _NORMALIZE_HYPOTHESIS(text)


def hike_tokens(text: str) -> list[str]:
    """HiKE's tokens (step 3): each Hangul syllable alone, other text split on whitespace."""
    return _HANGUL_SYLLABLE.sub(r" \1 ", text).split()


def hike_utterance_mer(reference: str, hypothesis: str, loanwords: Loanwords = ()) -> float:
    """One utterance's MER under HiKE's conventions (a fraction; HiKE prints it × 100).

    An utterance whose reference has no tokens scores its insertions over one token, so it
    stays finite; HiKE's test set has none.
    """
    ref = hike_tokens(substitute_loanwords(reference, loanwords))
    hyp = hike_tokens(normalize_hypothesis(substitute_loanwords(hypothesis, loanwords)))
    if not ref:
        return float(len(hyp))
    if not hyp:
        return 1.0
    output = jiwer.process_words(" ".join(ref), " ".join(hyp))
    return (output.substitutions + output.deletions + output.insertions) / len(ref)


def hike_mer(references: Sequence[str], hypotheses: Sequence[str], loanwords: Sequence[Loanwords]) -> list[float]:
    """Per-utterance HiKE MERs; their mean is HiKE's reported MER (step 4)."""
    if not len(references) == len(hypotheses) == len(loanwords):
        raise ValueError(
            f"{len(references)} references, {len(hypotheses)} hypotheses and {len(loanwords)} loanword lists"
        )
    return [hike_utterance_mer(r, h, lw) for r, h, lw in zip(references, hypotheses, loanwords, strict=True)]
