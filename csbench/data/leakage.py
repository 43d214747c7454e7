"""Leakage guard: no unseen-pair test utterance may appear in any training or dev set.

Unseen pairs are the study's held-out condition; a test sentence that also occurs in a
seen pair's training data (or in the base's pretraining data) would make transfer look
better than it is. Utterances are compared by id and by normalized text (the scoring
normalization, so case and punctuation differences do not hide a duplicate).
"""

from __future__ import annotations

from pathlib import Path

from csbench.data.manifest import read_manifest
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
