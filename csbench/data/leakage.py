"""Leakage guard: no unseen-pair test utterance may appear in any training or dev set.

Unseen pairs are the study's held-out condition; a test sentence that also occurs in a
seen pair's training data (or in the base's pretraining data) would make transfer look
better than it is. Utterances are compared by id and by normalized text (the scoring
normalization, so case and punctuation differences do not hide a duplicate).

Synthetic data is kept clean at the source too: pairs are drawn independently, so two
pairs can produce one text when a word is spelled alike in two languages (German "Link",
English "link": a Korean sentence with the one is, after normalization, a Korean sentence
with the other). A held-out test set therefore passes over every sentence that another pair
could produce (`producible_by_another_pair`); the check below stays the guard for real data.
Found when 800 test utterances per pair (configs/tight.yaml) drew 43 such candidates of
1,600 for de-ko, 7 of them among en-ko's training candidates.
"""

from __future__ import annotations

from pathlib import Path

from csbench.data.lexicon import SLOTS, Lexicon
from csbench.data.manifest import read_manifest
from csbench.data.text import Sentence
from csbench.errors import LeakageError
from csbench.metrics import normalize


def check_leakage(test_manifest: str | Path, training_manifests: list[str | Path]) -> int:
    """Raise LeakageError on the first overlap; return the number of utterances compared."""
    test = read_manifest(test_manifest)
    by_id = {u.id: u for u in test}
    by_text = {normalize(u.text): u for u in test}
    compared = 0
    for manifest in training_manifests:
        for utterance in read_manifest(manifest):
            compared += 1
            if utterance.id in by_id:
                raise LeakageError(
                    f"{manifest}: utterance id {utterance.id!r} is also in the unseen test set {test_manifest}"
                )
            match = by_text.get(normalize(utterance.text))
            if match is not None:
                raise LeakageError(
                    f"{manifest}: utterance {utterance.id!r} has the text of unseen test utterance "
                    f"{match.id!r} in {test_manifest} ({utterance.text!r})"
                )
    return compared


def language_vocabularies(lexicon: Lexicon) -> dict[str, frozenset[str]]:
    """Every normalized word each language's concepts and templates can produce."""
    words: dict[str, set[str]] = {lang: set() for lang in lexicon.languages()}
    for concepts in lexicon.concepts.values():
        for forms in concepts.values():
            for lang, form in forms.items():
                if lang in words:
                    words[lang].update(normalize(form).split())
    for lang, templates in lexicon.templates.items():
        if lang in words:
            for template in templates:
                words[lang].update(normalize(word) for word in template.words if word not in SLOTS)
    return {lang: frozenset(found - {""}) for lang, found in words.items()}


def producible_by_another_pair(sentence: Sentence, vocabularies: dict[str, frozenset[str]]) -> bool:
    """True when, for some language E of the sentence, every E word is also a word of another
    language L: a pair with L in E's place (or, for L the sentence's other language, its
    monolingual data) may then hold the same normalized text.

    Word by word rather than form by form, so it may pass over a few sentences no pair would
    actually say; L ranges over every language of the lexicon, not only the study's, so a held-
    out test set does not change when a pair is added.
    """
    by_lang: dict[str, set[str]] = {}
    for token in sentence.tokens:
        by_lang.setdefault(token.lang, set()).update(normalize(token.text).split())
    for lang, used in by_lang.items():
        for other, vocabulary in vocabularies.items():
            if other != lang and used <= vocabulary:
                return True
    return False
