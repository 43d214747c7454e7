"""Checks of the text resources the synthetic code-switching generator reads.

concepts.tsv is a multilingual concept lexicon (one noun or short noun phrase per row, one
column per language) and templates.tsv holds per-language carrier sentences with noun slots.
Both are read with the csv module only, so these tests do not depend on any csbench code.
Every cell must be speakable by eSpeak NG as it stands: no punctuation, digits or symbols,
and each language in its own script (Japanese in kana only, because eSpeak reads every
kanji as "Chinese letter").
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

RESOURCES = Path(__file__).resolve().parents[1] / "csbench" / "data" / "resources"
CONCEPTS = RESOURCES / "concepts.tsv"
TEMPLATES = RESOURCES / "templates.tsv"

LANGS = ["en", "ko", "ja", "de", "zh", "es", "fr", "hi"]
CONCEPT_HEADER = ["concept", "pos", *LANGS]
TEMPLATE_HEADER = ["lang", "template_id", "template"]

MIN_NOUNS = 320
MIN_NPS = 70
MIN_TEMPLATES_PER_LANG = 24
MIN_TEMPLATE_WORDS = 3
MAX_TEMPLATE_WORDS = 9

SLOTS = {"{N1}", "{N2}"}
# Korean particles whose form depends on the final consonant of the noun before them.
KO_ALTERNATING_PARTICLES = {"을", "를", "이", "가", "은", "는", "와", "과", "로", "으로"}


def _read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def _rows(path: Path, header: list[str]) -> list[dict[str, str]]:
    rows = _read(path)
    assert rows[0] == header
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


CONCEPT_ROWS = _rows(CONCEPTS, CONCEPT_HEADER)
TEMPLATE_ROWS = _rows(TEMPLATES, TEMPLATE_HEADER)


# --- per-character script predicates -----------------------------------------------------


def _is_hangul(ch: str) -> bool:
    return 0xAC00 <= ord(ch) <= 0xD7A3


def _is_kana(ch: str) -> bool:
    code = ord(ch)
    # Hiragana letters, katakana letters and the prolonged sound mark; not the middle dot.
    return 0x3041 <= code <= 0x3096 or 0x30A1 <= code <= 0x30FA or ch == "ー"


def _is_han(ch: str) -> bool:
    return 0x4E00 <= ord(ch) <= 0x9FFF


def _is_devanagari(ch: str) -> bool:
    return 0x0900 <= ord(ch) <= 0x097F


def _is_latin_letter(ch: str) -> bool:
    return ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN")


SCRIPT_OF = {
    "en": _is_latin_letter,
    "de": _is_latin_letter,
    "es": _is_latin_letter,
    "fr": _is_latin_letter,
    "ko": _is_hangul,
    "ja": _is_kana,
    "zh": _is_han,
    "hi": _is_devanagari,
}


def _bad_categories(text: str) -> list[str]:
    """Characters that are neither letters, combining marks (Mn/Mc) nor a plain space."""
    bad = []
    for ch in text:
        if ch == " ":
            continue
        category = unicodedata.category(ch)
        if category[0] in "PSN" or not (category[0] == "L" or category in ("Mn", "Mc")):
            bad.append(f"{ch!r} U+{ord(ch):04X} {category}")
    return bad


def _off_script(text: str, lang: str) -> list[str]:
    allowed = SCRIPT_OF[lang]
    return [f"{ch!r} U+{ord(ch):04X}" for ch in text if ch != " " and not allowed(ch)]


def _check_spacing(text: str) -> None:
    assert text, "empty cell"
    assert text == text.strip(), f"leading/trailing space in {text!r}"
    assert "  " not in text, f"double space in {text!r}"


def _strip_slots(template: str) -> str:
    return " ".join(tok for tok in template.split(" ") if tok not in SLOTS)


# --- file-level checks -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "width"), [(CONCEPTS, len(CONCEPT_HEADER)), (TEMPLATES, len(TEMPLATE_HEADER))]
)
def test_every_line_has_the_header_width_and_no_blank_lines(path: Path, width: int) -> None:
    raw = path.read_text(encoding="utf-8")
    assert "\r" not in raw
    lines = raw.rstrip("\n").split("\n")
    for number, line in enumerate(lines, start=1):
        assert line.strip(), f"{path.name}:{number} is empty"
        assert '"' not in line, f"{path.name}:{number} contains a quote"
        assert line.count("\t") == width - 1, f"{path.name}:{number} has {line.count(chr(9)) + 1} columns"
    assert all(len(row) == width for row in _read(path))


def test_headers() -> None:
    assert _read(CONCEPTS)[0] == CONCEPT_HEADER
    assert _read(TEMPLATES)[0] == TEMPLATE_HEADER


# --- concepts ----------------------------------------------------------------------------


def test_concept_ids_are_unique_snake_case() -> None:
    ids = [row["concept"] for row in CONCEPT_ROWS]
    duplicates = [cid for cid, n in Counter(ids).items() if n > 1]
    assert not duplicates
    for cid in ids:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", cid), cid


def test_pos_values_and_counts() -> None:
    counts = Counter(row["pos"] for row in CONCEPT_ROWS)
    assert set(counts) <= {"noun", "np"}
    assert counts["noun"] >= MIN_NOUNS
    assert counts["np"] >= MIN_NPS


@pytest.mark.parametrize("lang", LANGS)
def test_concept_cells_are_clean(lang: str) -> None:
    for row in CONCEPT_ROWS:
        cell = row[lang]
        _check_spacing(cell)
        assert not _bad_categories(cell), (row["concept"], lang, _bad_categories(cell))
        assert not _off_script(cell, lang), (row["concept"], lang, _off_script(cell, lang))


def test_japanese_has_no_kanji() -> None:
    for row in CONCEPT_ROWS:
        assert not any(0x4E00 <= ord(ch) <= 0x9FFF for ch in row["ja"]), row["concept"]
    for row in TEMPLATE_ROWS:
        if row["lang"] == "ja":
            assert not any(0x4E00 <= ord(ch) <= 0x9FFF for ch in row["template"]), row["template_id"]


def test_np_rows_are_short_phrases_in_english() -> None:
    for row in CONCEPT_ROWS:
        words = len(row["en"].split(" "))
        if row["pos"] == "np":
            assert 2 <= words <= 3, row["concept"]
        else:
            assert words == 1, row["concept"]


def test_german_nouns_are_capitalized() -> None:
    for row in CONCEPT_ROWS:
        # The head noun of a German noun or noun phrase is its last word.
        assert row["de"].split(" ")[-1][0].isupper(), row["concept"]


# --- templates ---------------------------------------------------------------------------


def test_template_ids_are_unique_and_match_their_language() -> None:
    ids = [row["template_id"] for row in TEMPLATE_ROWS]
    assert not [tid for tid, n in Counter(ids).items() if n > 1]
    for row in TEMPLATE_ROWS:
        assert row["lang"] in LANGS, row
        assert re.fullmatch(rf"{row['lang']}_\d\d", row["template_id"]), row["template_id"]


def test_enough_templates_per_language() -> None:
    counts = Counter(row["lang"] for row in TEMPLATE_ROWS)
    for lang in LANGS:
        assert counts[lang] >= MIN_TEMPLATES_PER_LANG, (lang, counts[lang])


@pytest.mark.parametrize("lang", LANGS)
def test_some_templates_have_two_slots(lang: str) -> None:
    rows = [row for row in TEMPLATE_ROWS if row["lang"] == lang]
    two = sum("{N2}" in row["template"] for row in rows)
    assert 0.2 * len(rows) <= two <= 0.5 * len(rows), (lang, two, len(rows))


def test_template_slots_are_standalone_tokens() -> None:
    for row in TEMPLATE_ROWS:
        template = row["template"]
        _check_spacing(template)
        tokens = template.split(" ")
        slots = [tok for tok in tokens if tok in SLOTS]
        assert slots.count("{N1}") == 1, row["template_id"]
        assert slots.count("{N2}") <= 1, row["template_id"]
        # No brace may survive outside a well-formed, space-separated slot.
        rest = [tok for tok in tokens if tok not in SLOTS]
        assert not any("{" in tok or "}" in tok for tok in rest), row["template_id"]
        assert re.findall(r"\{[^}]*\}", template) == slots, row["template_id"]
        assert MIN_TEMPLATE_WORDS <= len(tokens) <= MAX_TEMPLATE_WORDS, row["template_id"]


def test_template_text_is_clean_and_in_script() -> None:
    for row in TEMPLATE_ROWS:
        text = _strip_slots(row["template"])
        assert text, row["template_id"]
        assert not _bad_categories(text), (row["template_id"], _bad_categories(text))
        assert not _off_script(text, row["lang"]), (row["template_id"], _off_script(text, row["lang"]))


def test_korean_particles_after_slots_do_not_depend_on_the_noun() -> None:
    for row in TEMPLATE_ROWS:
        if row["lang"] != "ko":
            continue
        tokens = row["template"].split(" ")
        for position, token in enumerate(tokens[:-1]):
            if token in SLOTS:
                assert tokens[position + 1] not in KO_ALTERNATING_PARTICLES, row["template_id"]


def test_checks_reject_bad_text() -> None:
    """The predicates themselves catch what they are meant to catch."""
    assert _bad_categories("date-limite")
    assert _bad_categories("l'eau")
    assert _bad_categories("room 101")
    assert _bad_categories("बैठक।")
    assert not _bad_categories("हिंदी")  # vowel signs and anusvara are marks, allowed
    assert _off_script("会議", "ja")
    assert _off_script("ミーティング・ルーム", "ja")
    assert not _off_script("しゅうかん ミーティング", "ja")
    assert _off_script("회의 room", "ko")
    assert _off_script("かいぎ", "zh")
    assert not _off_script("réunion hebdomadaire", "fr")
    assert _off_script("Ωmega", "en")
