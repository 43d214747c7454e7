"""Error rates for code-switching speech recognition, and their bootstrap statistics.

Why a module of its own: a word error rate over whitespace words is meaningless for
Chinese and Japanese (no spaces) and too coarse for Korean mixed with English (one
eojeol such as "meeting에서" holds words of two languages), while a character error rate
over English spelling punishes one misheard word seven times. Code-switching results are
therefore scored with a *mixed* error rate, and this module fixes exactly what that means.

Definitions
-----------
Normalization (``normalize``), applied at scoring time only, so that stored predictions
stay raw and a change of normalization never needs a re-run of a model:
Unicode NFKC (full-width Latin and digits become ASCII, half-width kana become full-width),
casefold (wider than ``lower``: German "ß" becomes "ss"), every punctuation or symbol
character (Unicode categories P* and S*) replaced by a space, whitespace collapsed to
single spaces and stripped. A consequence worth knowing: "don't" becomes "don t" on both
sides, which is consistent and therefore harmless to the rates.

Tokens:

- mixed tokens (``mixed_tokens``): on normalized text, every Han, kana and Hangul
  character is a token of its own; runs of any other characters are whitespace words.
  "meeting에서" gives "meeting", "에", "서". Korean is thus scored per syllable, Chinese
  and Japanese per character, alphabetic languages per word.
- words (``word_error_rate``): normalized text split on whitespace.
- characters (``character_error_rate``): normalized text with spaces removed.

Every rate is corpus-level: total (substitutions + deletions + insertions) over total
reference tokens, never a mean of per-utterance rates, which would give a two-token
utterance the weight of a fifty-token one. Alignments are jiwer's (rapidfuzz
Levenshtein with unit costs).

NOTE: ``jiwer.mer`` is the *match* error rate, (S + D + I) / (H + S + D + I), over
whitespace words. It is NOT the mixed error rate and must not be used for it; a test
pins the difference.

Empty cases: an empty hypothesis scores every reference token as a deletion; an empty
reference scores every hypothesis token as an insertion with zero reference tokens
(``ErrorCounts.rate`` of such an utterance is undefined, but its insertions still count
in the corpus total). A corpus with no reference tokens at all is a data error, and every
corpus-level rate raises ``ValueError`` for it instead of returning 0 or infinity.

Code-switching metrics take *tagged references*: ``[(word, language), ...]`` in
utterance order. Each word is expanded to its mixed tokens, each inheriting the word's
language, so tag at the granularity you want scored.

- ``per_language_error_rates``: substitutions and deletions are charged to the language
  of their reference token; an insertion to the language of the nearest *preceding*
  reference token (the following one when it comes first; an insertion into an empty
  reference has no language and is left out). Caveat: when a word is split, e.g.
  "meeting" heard as "미 팅", the alignment is tied between "insert 미, substitute
  meeting/팅" and "substitute meeting/미, insert 팅"; rapidfuzz takes the first, so the
  extra token is charged to the word *before* "meeting".
- ``pier`` (point-of-interest error rate, Ugan et al., ICASSP 2025, as used by HiKE): the
  points of interest are the reference tokens whose language is not the utterance's
  matrix language. PIER = (substitutions and deletions of points of interest + insertions
  adjacent to a point of interest) / number of points of interest, corpus-level. Exact
  convention: an insertion between reference tokens i-1 and i counts once if token i-1
  or token i is a point of interest (at the start only token 0 is checked, at the end
  only the last token). Adjacency is taken on both sides, unlike the reference
  implementation (which checks only the following token), because the side a split
  word's extra tokens land on is an arbitrary alignment tie-break (see the caveat above);
  symmetric adjacency makes PIER independent of it. Utterances without points of
  interest contribute nothing; utterances without matrix-language tokens are kept.
- ``script_confusion_rate``: among hypothesis mixed tokens that start with a letter
  (Unicode category L*; digits and the like say nothing about script), the fraction
  whose first character's script is neither language's script. Japanese accepts kana
  and Han.
- ``language_swap_rate``: the other face of script confusion: reference tokens
  substituted by a token in the script of the pair's *other* language ("meeting" heard
  as "미팅"), over all reference tokens. Zero by construction for same-script pairs.

Statistics: ``bootstrap_ci`` is a percentile bootstrap of the corpus-level rate over
utterances; ``paired_bootstrap`` is Koehn's (2004) paired bootstrap and returns the
fraction of resamples in which system A is not better than B, a one-sided p-value for
"A is better". Both are vectorized over resamples and seeded for reproducibility.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby

import jiwer
import numpy as np

from csbench.languages import SUPPORTED_LANGUAGES, char_script

__all__ = [
    "ErrorCounts",
    "TaggedReference",
    "bootstrap_ci",
    "character_error_counts",
    "character_error_rate",
    "mixed_error_counts",
    "mixed_error_rate",
    "mixed_tokens",
    "normalize",
    "paired_bootstrap",
    "per_language_error_counts",
    "per_language_error_rates",
    "pier",
    "pier_error_counts",
    "script_confusion_rate",
    "language_swap_rate",
    "mean_bootstrap_ci",
    "resampling_weights",
    "word_error_counts",
    "word_error_rate",
]

#: A reference transcript with one language tag per word, in utterance order.
TaggedReference = list[tuple[str, str]]

_NO_REFERENCE_TOKENS = (
    "error rate is undefined: the references hold no tokens after normalization "
    "(empty or punctuation-only reference transcripts are a data error)"
)

#: Scripts written one token per character: no spaces in Chinese and Japanese, and
#: Korean eojeols glue particles onto words of either language.
_CHARACTER_TOKEN_SCRIPTS = frozenset({"han", "kana", "hangul"})

#: Scripts a language may be written in beyond SUPPORTED_LANGUAGES' own: that table says
#: "kana" for Japanese because the synthetic voice reads only kana, but real Japanese
#: (and any model's output) writes kanji too, which is no script confusion.
_EXTRA_SCRIPTS: dict[str, frozenset[str]] = {"ja": frozenset({"han"})}

#: jiwer's word splitter: our tokens never contain spaces, so joining them with spaces
#: and splitting again hands jiwer exactly our tokens.
_SPLIT_ON_SPACES = jiwer.ReduceToListOfListOfWords()


# --------------------------------------------------------------------------- counts


@dataclass(frozen=True)
class ErrorCounts:
    """Edit counts of one utterance (or a sum of utterances) against its reference.

    Kept as counts rather than rates so utterances can be summed into corpus-level
    rates and resampled by the bootstrap without the bias of averaging ratios.
    """

    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    reference_tokens: int = 0

    @property
    def errors(self) -> int:
        """Total edits: substitutions + deletions + insertions."""
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """Errors per reference token; ValueError when there are no reference tokens."""
        if self.reference_tokens == 0:
            raise ValueError(_NO_REFERENCE_TOKENS)
        return self.errors / self.reference_tokens

    def __add__(self, other: ErrorCounts) -> ErrorCounts:
        if not isinstance(other, ErrorCounts):
            return NotImplemented
        return ErrorCounts(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.reference_tokens + other.reference_tokens,
        )


def _corpus_rate(counts: Sequence[ErrorCounts]) -> float:
    """Corpus-level rate: summed edits over summed reference tokens."""
    return sum(counts, ErrorCounts()).rate


# --------------------------------------------------------------------- tokenization


def normalize(text: str) -> str:
    """NFKC, casefold, invisible format characters removed, punctuation and symbols to
    spaces, whitespace collapsed.

    Scoring-time only, so that transcripts differing only in width, case or
    punctuation (which no listener could hear) are not counted as errors. Format
    characters (Unicode category Cf: zero-width space, byte-order mark, soft hyphen, joiners)
    are invisible in print and inaudible, and would otherwise split or glue words.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(
        "" if unicodedata.category(ch) == "Cf" else " " if unicodedata.category(ch)[0] in "PS" else ch
        for ch in text
    )
    return " ".join(text.split())


def _token_class(char: str) -> str:
    """'character' for one-token-per-character scripts, else 'space' or 'word'."""
    script = char_script(char)
    if script in _CHARACTER_TOKEN_SCRIPTS:
        return "character"
    return "space" if script == "space" else "word"


def mixed_tokens(text: str) -> list[str]:
    """Mixed-error-rate tokens of normalized text: CJK/Hangul characters, other words.

    "어제 meeting에서" gives ["어", "제", "meeting", "에", "서"].
    """
    tokens: list[str] = []
    for token_class, chars in groupby(normalize(text), key=_token_class):
        if token_class == "character":
            tokens.extend(chars)
        elif token_class == "word":
            tokens.append("".join(chars))
    return tokens


def _words(text: str) -> list[str]:
    """Whitespace words of normalized text."""
    return normalize(text).split()


def _characters(text: str) -> list[str]:
    """Characters of normalized text without spaces (spaces are not heard)."""
    return list(normalize(text).replace(" ", ""))


# ------------------------------------------------------------------------ alignment


def _align(reference: Sequence[str], hypothesis: Sequence[str]) -> list[jiwer.AlignmentChunk]:
    """Alignment of two token lists by jiwer, with empty sides handled here.

    jiwer's behaviour on empty strings has changed between versions (some raise), so the
    trivial alignments are built directly and jiwer only sees non-empty inputs.
    """
    if not reference and not hypothesis:
        return []
    if not hypothesis:
        return [jiwer.AlignmentChunk("delete", 0, len(reference), 0, 0)]
    if not reference:
        return [jiwer.AlignmentChunk("insert", 0, 0, 0, len(hypothesis))]
    output = jiwer.process_words(
        " ".join(reference),
        " ".join(hypothesis),
        reference_transform=_SPLIT_ON_SPACES,
        hypothesis_transform=_SPLIT_ON_SPACES,
    )
    return output.alignments[0]


def _edits(chunks: list[jiwer.AlignmentChunk]) -> Iterator[tuple[str, int]]:
    """One (kind, position) per edit, kind in substitute/delete/insert.

    Position is the reference token index for substitutions and deletions, and the
    insertion point (index of the following reference token) for insertions, which is
    what language attribution and PIER need to look at neighbours.
    """
    for chunk in chunks:
        if chunk.type in ("substitute", "delete"):
            for index in range(chunk.ref_start_idx, chunk.ref_end_idx):
                yield chunk.type, index
        elif chunk.type == "insert":
            for _ in range(chunk.hyp_start_idx, chunk.hyp_end_idx):
                yield "insert", chunk.ref_start_idx


def _counts(kinds: Counter[str], reference_tokens: int) -> ErrorCounts:
    """ErrorCounts from a Counter of edit kinds."""
    return ErrorCounts(kinds["substitute"], kinds["delete"], kinds["insert"], reference_tokens)


def _check_pairs(references: Sequence[object], hypotheses: Sequence[object]) -> None:
    """Refuse misaligned lists, which would otherwise be silently truncated by zip."""
    if len(references) != len(hypotheses):
        raise ValueError(
            f"got {len(references)} references but {len(hypotheses)} hypotheses; "
            "they must pair up one to one"
        )


def _error_counts(
    references: list[str], hypotheses: list[str], tokenize: Callable[[str], list[str]]
) -> list[ErrorCounts]:
    """Per-utterance ErrorCounts under one tokenization."""
    _check_pairs(references, hypotheses)
    counts = []
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        ref_tokens = tokenize(reference)
        edits = _edits(_align(ref_tokens, tokenize(hypothesis)))
        counts.append(_counts(Counter(kind for kind, _ in edits), len(ref_tokens)))
    return counts


# ------------------------------------------------------------------ standard rates


def mixed_error_counts(references: list[str], hypotheses: list[str]) -> list[ErrorCounts]:
    """Per-utterance mixed-token edit counts (the input of the bootstrap functions)."""
    return _error_counts(references, hypotheses, mixed_tokens)


def mixed_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Corpus-level mixed error rate (MER over mixed tokens; not jiwer.mer)."""
    return _corpus_rate(mixed_error_counts(references, hypotheses))


def word_error_counts(references: list[str], hypotheses: list[str]) -> list[ErrorCounts]:
    """Per-utterance edit counts over normalized whitespace words."""
    return _error_counts(references, hypotheses, _words)


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Corpus-level word error rate over normalized whitespace words."""
    return _corpus_rate(word_error_counts(references, hypotheses))


def character_error_counts(references: list[str], hypotheses: list[str]) -> list[ErrorCounts]:
    """Per-utterance edit counts over normalized characters, spaces removed."""
    return _error_counts(references, hypotheses, _characters)


def character_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Corpus-level character error rate over normalized characters, spaces removed."""
    return _corpus_rate(character_error_counts(references, hypotheses))


# ---------------------------------------------------------- code-switching metrics


def _expand_tagged(tagged: TaggedReference) -> tuple[list[str], list[str]]:
    """Mixed tokens of a tagged reference and the language of each token."""
    tokens: list[str] = []
    languages: list[str] = []
    for word, language in tagged:
        word_tokens = mixed_tokens(word)
        tokens.extend(word_tokens)
        languages.extend([language] * len(word_tokens))
    return tokens, languages


def _tagged_alignments(
    tagged_references: list[TaggedReference], hypotheses: list[str]
) -> Iterator[tuple[list[str], list[tuple[str, int]]]]:
    """Per utterance: token languages of the reference and the list of its edits."""
    _check_pairs(tagged_references, hypotheses)
    for tagged, hypothesis in zip(tagged_references, hypotheses, strict=True):
        tokens, languages = _expand_tagged(tagged)
        yield languages, list(_edits(_align(tokens, mixed_tokens(hypothesis))))


def _edit_language(kind: str, position: int, languages: list[str]) -> str | None:
    """Language an edit is charged to (None for an insertion into an empty reference)."""
    if kind != "insert":
        return languages[position]
    if position > 0:
        return languages[position - 1]
    return languages[0] if languages else None


def per_language_error_counts(
    tagged_references: list[TaggedReference], hypotheses: list[str]
) -> dict[str, ErrorCounts]:
    """Corpus-level edit counts per reference language (see module docstring)."""
    kinds: dict[str, Counter[str]] = {}
    tokens: Counter[str] = Counter()
    for languages, edits in _tagged_alignments(tagged_references, hypotheses):
        tokens.update(languages)
        for kind, position in edits:
            language = _edit_language(kind, position, languages)
            if language is not None:
                kinds.setdefault(language, Counter())[kind] += 1
    return {lang: _counts(kinds.get(lang, Counter()), tokens[lang]) for lang in sorted(tokens)}


def per_language_error_rates(
    tagged_references: list[TaggedReference], hypotheses: list[str]
) -> dict[str, float]:
    """Error rate per reference language: attributed edits / that language's tokens.

    Shows which side of a code-switched pair a model fails on, which a single corpus
    rate averages away.
    """
    counts = per_language_error_counts(tagged_references, hypotheses)
    if not counts:
        raise ValueError(_NO_REFERENCE_TOKENS)
    return {language: count.rate for language, count in counts.items()}


def _touches_point_of_interest(kind: str, position: int, interest: list[bool]) -> bool:
    """Whether an edit counts for PIER: on a point of interest, or inserted beside one."""
    if kind != "insert":
        return interest[position]
    before = position > 0 and interest[position - 1]
    after = position < len(interest) and interest[position]
    return before or after


def pier_error_counts(
    tagged_references: list[TaggedReference],
    hypotheses: list[str],
    matrix_languages: list[str],
) -> list[ErrorCounts]:
    """Per-utterance PIER counts: reference_tokens is the number of points of interest."""
    _check_pairs(tagged_references, matrix_languages)
    counts = []
    alignments = _tagged_alignments(tagged_references, hypotheses)
    for (languages, edits), matrix in zip(alignments, matrix_languages, strict=True):
        interest = [language != matrix for language in languages]
        kinds = Counter(k for k, pos in edits if _touches_point_of_interest(k, pos, interest))
        counts.append(_counts(kinds, sum(interest)))
    return counts


def pier(
    tagged_references: list[TaggedReference],
    hypotheses: list[str],
    matrix_languages: list[str],
) -> float:
    """Point-of-interest error rate over the code-switched (non-matrix) tokens.

    A corpus rate is dominated by the matrix language, so a model can improve it while
    getting worse at exactly the switched words a code-switching benchmark is about.
    """
    return _corpus_rate(pier_error_counts(tagged_references, hypotheses, matrix_languages))


def _allowed_scripts(languages: tuple[str, str]) -> frozenset[str]:
    """Scripts either language of the pair is legitimately written in."""
    scripts: set[str] = set()
    for code in languages:
        if code not in SUPPORTED_LANGUAGES:
            known = ", ".join(sorted(SUPPORTED_LANGUAGES))
            raise ValueError(f"language {code!r} has no known script; expected one of {known}")
        scripts.add(SUPPORTED_LANGUAGES[code]["script"])
        scripts |= _EXTRA_SCRIPTS.get(code, frozenset())
    return frozenset(scripts)


def _starts_with_letter(token: str) -> bool:
    """Whether a token's first character is a letter (category L*)."""
    return unicodedata.category(token[0]).startswith("L")


def script_confusion_rate(hypotheses: list[str], languages: tuple[str, str]) -> float:
    """Fraction of letter tokens written in a script of neither language of the pair.

    Catches a failure mode error rates hide: writing the right sound in the wrong
    script (Korean heard as Japanese kana). 0.0 when the hypotheses hold no letters.
    """
    allowed = _allowed_scripts(languages)
    letters = [
        token
        for hypothesis in hypotheses
        for token in mixed_tokens(hypothesis)
        if _starts_with_letter(token)
    ]
    if not letters:
        return 0.0
    confused = sum(char_script(token[0]) not in allowed for token in letters)
    return confused / len(letters)


def language_swap_rate(
    tagged_references: list[TaggedReference], hypotheses: list[str], languages: tuple[str, str]
) -> float:
    """Fraction of reference tokens replaced by a token in the *other* language's script.

    The second face of script confusion: "meeting" heard as "미팅" is a substitution like
    any other for the error rates, but it says the model answered in the wrong language of
    the pair (transliterated), not that it misheard. A substitution counts as a swap when
    the hypothesis token's script belongs to the other language of the pair and not to the
    reference token's own language. Only pairs whose languages are written in different
    scripts can show a swap (de-en cannot; 0.0). Corpus-level over reference tokens; an
    empty corpus raises ``ValueError`` like every rate.
    """
    scripts = {code: _allowed_scripts((code, code)) for code in languages}
    other_language = {code: next((o for o in languages if o != code), code) for code in languages}
    swaps = total = 0
    _check_pairs(tagged_references, hypotheses)
    for tagged, hypothesis in zip(tagged_references, hypotheses, strict=True):
        tokens, token_languages = _expand_tagged(tagged)
        hypothesis_tokens = mixed_tokens(hypothesis)
        total += len(tokens)
        for chunk in _align(tokens, hypothesis_tokens):
            if chunk.type != "substitute":
                continue
            pairs = zip(range(chunk.ref_start_idx, chunk.ref_end_idx),
                        range(chunk.hyp_start_idx, chunk.hyp_end_idx), strict=True)
            for ref_index, hyp_index in pairs:
                own = token_languages[ref_index]
                if own not in scripts or not _starts_with_letter(hypothesis_tokens[hyp_index]):
                    continue
                script = char_script(hypothesis_tokens[hyp_index][0])
                swaps += script in scripts[other_language[own]] and script not in scripts[own]
    if total == 0:
        raise ValueError(_NO_REFERENCE_TOKENS)
    return swaps / total


# ----------------------------------------------------------------------- bootstrap


def _check_bootstrap(counts: Sequence[ErrorCounts], n_resamples: int) -> None:
    """Refuse inputs for which no resample can be drawn."""
    if not counts:
        raise ValueError("cannot bootstrap an empty list of utterances")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")


def resampling_weights(n_rows: int, n_resamples: int, seed: int) -> np.ndarray:
    """How often each of `n_rows` utterances is drawn in each of `n_resamples` bootstrap
    resamples (with replacement): an (n_resamples, n_rows) multinomial count matrix.

    The one bootstrap draw of csbench: the same seed gives the same resamples, so every model
    scored with it sees the same utterances (common random numbers), and a statistic over all
    resamples is one matrix product instead of a Python loop; memory O(n_resamples * n_rows).
    """
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_rows, np.full(n_rows, 1.0 / n_rows), size=n_resamples)


def _resampled_totals(columns: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Column totals over n_resamples resamples of the rows (`resampling_weights`)."""
    return resampling_weights(columns.shape[0], n_resamples, seed) @ columns


def mean_bootstrap_ci(
    rates: Sequence[float], n_resamples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of a MEAN of per-utterance rates (HiKE's convention;
    csbench's own rates are corpus-level, `bootstrap_ci`)."""
    values = np.asarray(rates, dtype=float)
    means = _resampled_totals(values, n_resamples, seed) / values.size
    alpha = (1 - confidence) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def bootstrap_ci(
    counts: list[ErrorCounts],
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the corpus-level rate.

    Resamples utterances (not tokens) because errors within an utterance are
    correlated. Resamples that happen to hold no reference tokens have no rate and are
    left out of the percentiles.
    """
    _check_bootstrap(counts, n_resamples)
    _corpus_rate(counts)  # raises for a corpus without reference tokens
    columns = np.array([[c.errors, c.reference_tokens] for c in counts], dtype=np.int64)
    errors, tokens = _resampled_totals(columns, n_resamples, seed).T
    return _percentile_interval(errors, tokens, confidence)


def _percentile_interval(errors: np.ndarray, tokens: np.ndarray, confidence: float) -> tuple[float, float]:
    """The central `confidence` interval of the resampled rates errors / tokens.

    Resamples that happen to hold no reference tokens have no rate and are left out.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    rates = np.divide(errors, tokens, out=np.full(len(errors), np.nan), where=tokens > 0)
    tail = (1.0 - confidence) / 2.0
    low, high = np.nanquantile(rates, [tail, 1.0 - tail])
    return float(low), float(high)


def _check_paired(counts_a: list[ErrorCounts], counts_b: list[ErrorCounts]) -> None:
    """Refuse lists that are not the same utterances in the same order."""
    if len(counts_a) != len(counts_b):
        raise ValueError(
            f"paired bootstrap needs the same utterances: got {len(counts_a)} and "
            f"{len(counts_b)} counts"
        )
    for index, (a, b) in enumerate(zip(counts_a, counts_b, strict=True)):
        if a.reference_tokens != b.reference_tokens:
            raise ValueError(
                f"paired bootstrap needs the same utterances in the same order: utterance "
                f"{index} has {a.reference_tokens} reference tokens for A but "
                f"{b.reference_tokens} for B"
            )


def paired_bootstrap(
    counts_a: list[ErrorCounts],
    counts_b: list[ErrorCounts],
    n_resamples: int = 1000,
    seed: int = 0,
) -> float:
    """Koehn's paired bootstrap: fraction of resamples where A is not better (rate_a >= rate_b).

    A one-sided p-value for "A is better than B". Both systems see the same resampled
    utterances, so the reference-token denominators are equal in every resample and
    comparing error totals is comparing rates, even in a resample without reference
    tokens.
    """
    _check_bootstrap(counts_a, n_resamples)
    _check_paired(counts_a, counts_b)
    _corpus_rate(counts_a)  # raises for a corpus without reference tokens
    pairs = zip(counts_a, counts_b, strict=True)
    columns = np.array([[a.errors, b.errors] for a, b in pairs], dtype=np.int64)
    errors_a, errors_b = _resampled_totals(columns, n_resamples, seed).T
    return float(np.mean(errors_a >= errors_b))


def paired_difference_ci(
    counts_a: list[ErrorCounts], counts_b: list[ErrorCounts], n_resamples: int = 1000, seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of rate(A) − rate(B) on the same utterances.

    The resolution of a comparison: two models whose interval excludes 0 differ on this
    test set; its half-width is the smallest difference the test set can resolve. Both
    systems see the same resampled utterances (the reference tokens, hence denominators, are
    shared), so the utterance-to-utterance variance they share cancels — far narrower than
    two unpaired intervals.
    """
    _check_bootstrap(counts_a, n_resamples)
    _check_paired(counts_a, counts_b)
    _corpus_rate(counts_a)  # raises for a corpus without reference tokens
    columns = np.array([[a.errors, b.errors, a.reference_tokens] for a, b in zip(counts_a, counts_b, strict=True)],
                       dtype=np.int64)
    errors_a, errors_b, tokens = _resampled_totals(columns, n_resamples, seed).T
    return _percentile_interval(errors_a - errors_b, tokens, confidence)
