"""The shipped multilingual concept lexicon and sentence templates.

Code-switched text is built from concepts (a noun or noun phrase translated into every
language) inserted into another language's sentence templates. Shipping the lexicon as TSV
keeps it reviewable by linguists and independent of the code.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
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

    def languages(self) -> list[str]:
        """Languages that have both concepts and templates."""
        any_pos = next(iter(self.concepts.values()))
        with_forms = set(next(iter(any_pos.values())).keys())
        return sorted(with_forms & set(self.templates))

    def forms(self, pos: str, lang: str) -> list[tuple[str, str]]:
        """(concept id, form) for every concept of `pos`, in a stable order."""
        return [(concept, forms[lang]) for concept, forms in sorted(self.concepts[pos].items())]


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
