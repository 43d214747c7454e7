"""Code-switched and monolingual sentence generation with per-token language tags.

Three code-switching levels follow the HiKE benchmark's taxonomy:
- word: one template slot of the matrix sentence holds a noun of the embedded language;
- phrase: one slot holds a multi-word noun phrase of the embedded language;
- sentence: a whole matrix-language sentence is followed (or preceded) by a whole
  embedded-language sentence (inter-sentential alternation).
The matrix language of a pair with English is the other language (as in Korean-English,
Japanese-English and German-English corpora, where English is embedded); a pair without
English alternates its matrix language between utterances.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from csbench.data.lexicon import Lexicon, Template
from csbench.languages import pair_languages

CS_LEVELS = ("word", "phrase", "sentence")
#: Scripts written without spaces between words: their words are joined directly in `text`.
UNSPACED_LANGUAGES = frozenset({"ja", "zh"})


@dataclass(frozen=True)
class Token:
    """One word with the language it is spoken in."""

    text: str
    lang: str


@dataclass
class Sentence:
    """A generated sentence before synthesis."""

    tokens: list[Token]
    matrix_lang: str
    cs_level: str
    templates: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return render_text(self.tokens)

    def segments(self) -> list[tuple[str, str]]:
        """Maximal runs of same-language tokens as (language, text): one synthesis call each."""
        runs: list[tuple[str, list[Token]]] = []
        for token in self.tokens:
            if runs and runs[-1][0] == token.lang:
                runs[-1][1].append(token)
            else:
                runs.append((token.lang, [token]))
        return [(lang, render_text(tokens)) for lang, tokens in runs]


def render_text(tokens: list[Token]) -> str:
    """Join tokens with spaces, except between two tokens of an unspaced script language."""
    parts: list[str] = []
    for index, token in enumerate(tokens):
        previous = tokens[index - 1] if index else None
        glue = (
            previous is not None
            and previous.lang == token.lang
            and token.lang in UNSPACED_LANGUAGES
        )
        if index and not glue:
            parts.append(" ")
        parts.append(token.text)
    return "".join(parts)


def matrix_language(pair: str, rng: random.Random) -> tuple[str, str]:
    """(matrix, embedded) languages for one utterance of `pair` (see module docstring)."""
    first, second = pair_languages(pair)
    if "en" in (first, second):
        other = second if first == "en" else first
        return other, "en"
    return (first, second) if rng.random() < 0.5 else (second, first)


def _fill(
    template: Template, fillers: dict[str, list[Token]], default: list[list[Token]]
) -> list[Token]:
    """Replace each slot by its filler tokens (or the next default); tag words by language."""
    remaining = list(default)
    tokens: list[Token] = []
    for word in template.words:
        if word in fillers:
            tokens.extend(fillers[word])
        elif word.startswith("{"):
            tokens.extend(remaining.pop(0))
        else:
            tokens.append(Token(word, template.lang))
    return tokens


def _concept_tokens(lexicon: Lexicon, pos: str, lang: str, rng: random.Random) -> list[Token]:
    _, form = rng.choice(lexicon.forms(pos, lang))
    return [Token(word, lang) for word in form.split()]


def monolingual_sentence(lexicon: Lexicon, lang: str, rng: random.Random) -> Sentence:
    """A template of `lang` with every slot filled by a `lang` noun."""
    template = rng.choice(lexicon.templates[lang])
    default = [_concept_tokens(lexicon, "noun", lang, rng) for _ in template.slots]
    return Sentence(_fill(template, {}, default), lang, "mono", [template.template_id])


def monolingual_utterance(
    lexicon: Lexicon, lang: str, rng: random.Random, sentences: int = 2
) -> Sentence:
    """`sentences` monolingual sentences of `lang` spoken as one utterance.

    Whisper pads every input to its full window, so one short sentence wastes most of the
    encoder's compute; two sentences per utterance teach the base twice the words per step.
    """
    parts = [monolingual_sentence(lexicon, lang, rng) for _ in range(sentences)]
    return Sentence(
        [token for part in parts for token in part.tokens],
        lang,
        "mono",
        [template for part in parts for template in part.templates],
    )


def code_switched_sentence(
    lexicon: Lexicon, pair: str, level: str, rng: random.Random
) -> Sentence:
    """One code-switched sentence of `pair` at CS `level` (word, phrase or sentence)."""
    matrix, embedded = matrix_language(pair, rng)
    if level == "sentence":
        first = monolingual_sentence(lexicon, matrix, rng)
        second = monolingual_sentence(lexicon, embedded, rng)
        parts = [first, second] if rng.random() < 0.7 else [second, first]
        return Sentence(
            parts[0].tokens + parts[1].tokens,
            matrix,
            level,
            parts[0].templates + parts[1].templates,
        )
    if level not in CS_LEVELS:
        raise ValueError(f"unknown code-switching level {level!r}; expected one of {CS_LEVELS}")
    template = rng.choice(lexicon.templates[matrix])
    switched_slot = rng.choice(template.slots)
    pos = "noun" if level == "word" else "np"
    fillers = {switched_slot: _concept_tokens(lexicon, pos, embedded, rng)}
    default = [
        _concept_tokens(lexicon, "noun", matrix, rng)
        for slot in template.slots
        if slot != switched_slot
    ]
    return Sentence(_fill(template, fillers, default), matrix, level, [template.template_id])


def unique_sentences(
    make, count: int, rng: random.Random, what: str, accept: Callable[[Sentence], bool] | None = None
) -> list[Sentence]:
    """Draw sentences from `make(rng)` until `count` distinct texts are collected.

    Distinct texts are what makes train/dev/test splits disjoint by construction. A sentence
    `accept` refuses is passed over (the draws after it are the same as without it).
    """
    seen: set[str] = set()
    sentences: list[Sentence] = []
    attempts = 0
    while len(sentences) < count:
        attempts += 1
        if attempts > 50 * count + 1000:
            raise ValueError(
                f"cannot draw {count} distinct sentences for {what}: the lexicon is too small "
                f"(got {len(sentences)}); lower the split sizes"
            )
        sentence = make(rng)
        if sentence.text not in seen and (accept is None or accept(sentence)):
            seen.add(sentence.text)
            sentences.append(sentence)
    return sentences
