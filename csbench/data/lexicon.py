"""The shipped multilingual concept lexicon and sentence templates.

Code-switched text is built from concepts (a noun or noun phrase translated into every
language) inserted into another language's sentence templates. Shipping the lexicon as TSV
keeps it reviewable by linguists and independent of the code.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

SLOTS = ("{N1}", "{N2}")


@dataclass(frozen=True)
class Template:
    """A sentence frame in one language: space-separated words and `{N1}`/`{N2}` slots."""

    lang: str
    template_id: str
    words: tuple[str, ...]

    @property
    def slots(self) -> tuple[str, ...]:
        return tuple(word for word in self.words if word in SLOTS)


@dataclass(frozen=True)
class Lexicon:
    """Concepts by part of speech ('noun' or 'np'), each mapping language → surface form."""

    concepts: dict[str, dict[str, dict[str, str]]]
    templates: dict[str, tuple[Template, ...]]
    #: `forms` results by (pos, lang): sorting 600 concepts for every generated word was a
    #: measurable share of generation time. The lexicon is never mutated, so it stays valid.
    _forms: dict[tuple[str, str], tuple[tuple[str, str], ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def languages(self) -> list[str]:
        """Languages that have both concepts and templates."""
        any_pos = next(iter(self.concepts.values()))
        with_forms = set(next(iter(any_pos.values())).keys())
        return sorted(with_forms & set(self.templates))

    def subset(self, limits: dict[str, int | None], seed: int) -> Lexicon:
        """A seeded random subset with at most `limits[pos]` concepts per part of speech.

        A smaller vocabulary makes each word recur more often, which is what lets a tiny
        model trained for minutes learn to spell it from audio; real corpora need no cap.
        """
        import random

        chosen: dict[str, dict[str, dict[str, str]]] = {}
        for pos, concepts in self.concepts.items():
            limit = limits.get(pos)
            names = sorted(concepts)
            if limit is not None and limit < len(names):
                names = sorted(random.Random(f"{seed}/{pos}").sample(names, limit))
            chosen[pos] = {name: concepts[name] for name in names}
        return Lexicon(chosen, self.templates)

    def forms(self, pos: str, lang: str) -> tuple[tuple[str, str], ...]:
        """(concept id, form) for every concept of `pos`, in a stable order."""
        key = (pos, lang)
        if key not in self._forms:
            self._forms[key] = tuple(
                (concept, forms[lang]) for concept, forms in sorted(self.concepts[pos].items())
            )
        return self._forms[key]


def _read_tsv(name: str) -> list[dict[str, str]]:
    text = resources.files("csbench.data.resources").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))


@cache
def load_lexicon() -> Lexicon:
    """Read `concepts.tsv` and `templates.tsv` shipped in `csbench/data/resources/`."""
    concepts: dict[str, dict[str, dict[str, str]]] = {}
    for row in _read_tsv("concepts.tsv"):
        concept, pos = row.pop("concept"), row.pop("pos")
        concepts.setdefault(pos, {})[concept] = {lang: form.strip() for lang, form in row.items()}
    templates: dict[str, list[Template]] = {}
    for row in _read_tsv("templates.tsv"):
        template = Template(row["lang"], row["template_id"], tuple(row["template"].split()))
        templates.setdefault(template.lang, []).append(template)
    return Lexicon(concepts, {lang: tuple(items) for lang, items in templates.items()})
