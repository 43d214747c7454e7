"""Hand-computed checks of csbench.metrics in Latin, Hangul, kana and Han text.

Every expected number is worked out in the comment above its assertion, so a failure
says whether the code or the hand computation is wrong.
"""

from __future__ import annotations

import jiwer
import pytest

from csbench.metrics import (
    ErrorCounts,
    bootstrap_ci,
    character_error_counts,
    character_error_rate,
    language_swap_rate,
    mixed_error_counts,
    mixed_error_rate,
    mixed_tokens,
    normalize,
    paired_bootstrap,
    paired_difference_ci,
    per_language_error_counts,
    per_language_error_rates,
    pier,
    pier_error_counts,
    script_confusion_rate,
    word_error_counts,
    word_error_rate,
)


def _fullwidth(ascii_text: str) -> str:
    """Full-width form of printable ASCII (spaces become U+3000).

    Built at run time so the source holds no look-alike characters for linters to flag.
    """
    return "".join("\u3000" if ch == " " else chr(ord(ch) - 0x21 + 0xFF01) for ch in ascii_text)


KO_TAGGED = [("어제", "ko"), ("meeting", "en"), ("에서", "ko")]
DE_TAGGED = [("Ich", "de"), ("habe", "de"), ("das", "de"), ("File", "en"), ("gedownloadet", "de")]
JA_TAGGED = [("今日", "ja"), ("は", "ja"), ("meeting", "en"), ("です", "ja")]
ZH_TAGGED = [("我们", "zh"), ("明天", "zh"), ("开", "zh"), ("meeting", "en")]


# ----------------------------------------------------------------------- normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Hello, World!", "hello world"),  # case and punctuation
        (_fullwidth("HELLO World!"), "hello world"),  # full-width letters, space, "!"
        ("Straße", "strasse"),  # casefold, not lower: ß -> ss
        ("「東京」へ行く。", "東京 へ行く"),  # CJK brackets and full stop become spaces
        ("안녕하세요?! 반가워요.", "안녕하세요 반가워요"),
        ("ｶﾀｶﾅ", "カタカナ"),  # half-width katakana -> full-width
        ("5$ + 3€ = 8", "5 3 8"),  # symbols (Sc, Sm) become spaces
        ("  a \t\n b  ", "a b"),  # whitespace collapsed and stripped
        ("?!", ""),
        # invisible format characters are removed, not turned into word breaks
        ("meet\u200bing \ufeffnow co\u00adoperate", "meeting now cooperate"),
        ("회\u200b의", "회의"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_normalize_is_idempotent() -> None:
    text = _fullwidth("HELLO") + "「東京」Straße 안녕?! ｶﾀｶﾅ"
    assert normalize(normalize(text)) == normalize(text)


# -------------------------------------------------------------------- mixed tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Latin word glued to Hangul splits at the script boundary; Hangul per syllable.
        ("어제 meeting에서", ["어", "제", "meeting", "에", "서"]),
        ("今日はGood Day!", ["今", "日", "は", "good", "day"]),
        ("Ich habe das File gedownloadet.", ["ich", "habe", "das", "file", "gedownloadet"]),
        ("我们开meeting吧", ["我", "们", "开", "meeting", "吧"]),
        ("ミーティング", ["ミ", "ー", "テ", "ィ", "ン", "グ"]),  # ー is kana too
        ("नमस्ते dost", ["नमस्ते", "dost"]),  # Devanagari stays whole words
        # every Han code point is one token: iteration mark, closing mark, ideographic zero,
        # extension A and B, a compatibility ideograph (U+FA11, no NFKC decomposition)
        ("時々meeting", ["時", "々", "meeting"]),
        ("〆切 file〇件", ["〆", "切", "file", "〇", "件"]),
        ("\u3400\U00020B9Fmeeting", ["\u3400", "\U00020B9F", "meeting"]),
        ("\ufa11", ["\ufa11"]),
        ("", []),
        ("?!", []),
    ],
)
def test_mixed_tokens(text: str, expected: list[str]) -> None:
    assert mixed_tokens(text) == expected


# --------------------------------------------------------------- mixed error rate


def test_mixed_error_rate_korean_substitution() -> None:
    # 어,제,meeting,에,서 vs 어,제,meating,에,서 -> 1 sub / 5 = 0.2
    assert mixed_error_rate(["어제 meeting 에서"], ["어제 meating 에서"]) == pytest.approx(0.2)


def test_mixed_error_rate_japanese_kana_transliteration() -> None:
    # ref 今,日,は,meeting,で,す (6); hyp 今,日,は,ミ,ー,テ,ィ,ン,グ,で,す (11):
    # meeting -> one kana substituted + 5 kana inserted = 6 errors / 6 = 1.0
    assert mixed_error_rate(["今日はmeetingです"], ["今日はミーティングです"]) == pytest.approx(1.0)


def test_mixed_error_rate_german() -> None:
    # ich,habe,das,file,gedownloadet vs ich,habe,das,file,geloaded -> 1 sub / 5 = 0.2
    rate = mixed_error_rate(["Ich habe das File gedownloadet."], ["ich habe das file geloaded"])
    assert rate == pytest.approx(0.2)


def test_mixed_error_rate_is_corpus_level_not_mean() -> None:
    # Korean: 1 sub / 5. Chinese 我,们,明,天,开,meeting vs 我,们,明,天,开,会: 1 sub / 6.
    # Corpus: (1 + 1) / (5 + 6) = 2/11 = 0.1818..., not the mean (0.2 + 1/6) / 2 = 0.1833...
    rate = mixed_error_rate(
        ["어제 meeting 에서", "我们明天开meeting"], ["어제 meating 에서", "我们明天开会"]
    )
    assert rate == pytest.approx(2 / 11)
    assert rate != pytest.approx((0.2 + 1 / 6) / 2)


def test_mixed_error_rate_ignores_width_case_and_punctuation() -> None:
    # full-width "HELLO," + "World" + full-width "!" -> "hello world": 0 errors / 2 = 0.0
    reference = _fullwidth("HELLO,") + "World" + _fullwidth("!")
    assert mixed_error_rate([reference], ["hello world"]) == 0.0
    # 「東京」へ。-> 東,京,へ; 안녕? -> 안,녕: nothing left to differ
    assert mixed_error_rate(["「東京」へ。", "안녕?"], ["東京へ", "안녕"]) == 0.0


def test_mixed_error_counts_per_utterance() -> None:
    # 1) 어,제,meeting,에,서 vs 어,제,meating: 1 sub (meeting) + 2 del (에,서), 5 ref tokens
    # 2) 6 Chinese-English tokens, hyp adds 会 at the end: 1 ins, 6 ref tokens
    # 3) 東,京,へ,行,く vs 東,京,に,行,き,ま,す: へ->に, く->き subs, ま,す inserted:
    #    2 sub + 2 ins (the only cost-4 alignment: length grows by 2, LCS 東京行 is 3)
    counts = mixed_error_counts(
        ["어제 meeting 에서", "我们明天开meeting", "東京へ行く"],
        ["어제 meating", "我们明天开meeting会", "東京に行きます"],
    )
    assert counts == [ErrorCounts(1, 2, 0, 5), ErrorCounts(0, 0, 1, 6), ErrorCounts(2, 0, 2, 5)]


def test_mixed_error_rate_differs_from_jiwer_match_error_rate() -> None:
    # Regression: jiwer.mer is the *match* error rate over whitespace words.
    # jiwer: 3 words 어제,meeting,에서, 1 sub, 2 hits -> (1)/(2+1) = 1/3. Ours: 1/5 = 0.2.
    ref, hyp = "어제 meeting 에서", "어제 meating 에서"
    assert jiwer.mer(ref, hyp) == pytest.approx(1 / 3)
    assert mixed_error_rate([ref], [hyp]) == pytest.approx(0.2)
    # Unsegmented Chinese is one "word" to jiwer: 1/1 = 1.0. Ours: 1 sub / 6 tokens.
    ref, hyp = "我们明天开meeting", "我们明天开会"
    assert jiwer.mer(ref, hyp) == pytest.approx(1.0)
    assert mixed_error_rate([ref], [hyp]) == pytest.approx(1 / 6)


# ------------------------------------------------------------------- empty inputs


def test_empty_hypothesis_is_all_deletions() -> None:
    # 어,제,meeting all deleted: 3 del / 3 = 1.0
    assert mixed_error_counts(["어제 meeting"], [""]) == [ErrorCounts(0, 3, 0, 3)]
    assert mixed_error_rate(["어제 meeting"], [""]) == pytest.approx(1.0)
    # word level: 1 word deleted / 1; character level: 東,京 deleted / 2
    assert word_error_rate(["Straße"], [""]) == pytest.approx(1.0)
    assert character_error_rate(["東京"], [""]) == pytest.approx(1.0)


def test_empty_reference_counts_insertions() -> None:
    # hallo, welt inserted against nothing: 2 ins, 0 reference tokens
    assert mixed_error_counts([""], ["hallo welt"]) == [ErrorCounts(0, 0, 2, 0)]
    # punctuation-only reference normalizes to nothing as well; both empty: no edits
    assert mixed_error_counts(["?!", ""], ["ミ", ""]) == [
        ErrorCounts(0, 0, 1, 0),
        ErrorCounts(0, 0, 0, 0),
    ]
    # The corpus still counts them: 1 ins (äh) + 0 errors over 0 + 2 tokens = 0.5
    assert mixed_error_rate(["", "Guten Tag"], ["äh", "guten tag"]) == pytest.approx(0.5)


def test_corpus_without_reference_tokens_raises() -> None:
    with pytest.raises(ValueError, match="no tokens"):
        mixed_error_rate(["", "?!"], ["x", ""])
    with pytest.raises(ValueError, match="no tokens"):
        mixed_error_rate([], [])
    with pytest.raises(ValueError, match="no tokens"):
        word_error_rate([""], ["안녕"])
    with pytest.raises(ValueError, match="no tokens"):
        character_error_rate(["。"], ["東"])
    with pytest.raises(ValueError, match="no tokens"):
        _ = ErrorCounts(0, 0, 2, 0).rate


def test_mismatched_lengths_raise() -> None:
    with pytest.raises(ValueError, match="pair up"):
        mixed_error_rate(["a", "b"], ["a"])


# ----------------------------------------------------------------- ErrorCounts


def test_error_counts_arithmetic() -> None:
    # (1+1, 2+0, 3+0, 10+5) = (2, 2, 3, 15): 7 errors / 15 tokens
    total = ErrorCounts(1, 2, 3, 10) + ErrorCounts(1, 0, 0, 5)
    assert total == ErrorCounts(2, 2, 3, 15)
    assert total.errors == 7
    assert total.rate == pytest.approx(7 / 15)
    assert sum([ErrorCounts(1, 0, 0, 4)] * 3, ErrorCounts()) == ErrorCounts(3, 0, 0, 12)


# ---------------------------------------------------------------- WER and CER


def test_word_error_rate_three_scripts() -> None:
    # German: 5 words, gedownloadet -> geloaded: 1/5 = 0.2
    de = (["Ich habe das File gedownloadet."], ["ich habe das file geloaded"])
    assert word_error_rate(*de) == pytest.approx(0.2)
    # Korean eojeols: 어제 | meeting에서 | 봐요 vs 어제 | 미팅에서 | 봐요: 1/3
    ko = (["어제 meeting에서 봐요"], ["어제 미팅에서 봐요"])
    assert word_error_rate(*ko) == pytest.approx(1 / 3)
    # Unsegmented Japanese is a single word, so one transliteration costs 1/1 = 1.0
    assert word_error_rate(["今日はmeetingです"], ["今日はミーティングです"]) == pytest.approx(1.0)
    # Corpus: (1 + 1) / (5 + 3) = 0.25
    assert word_error_rate(de[0] + ko[0], de[1] + ko[1]) == pytest.approx(0.25)
    assert word_error_counts(*ko) == [ErrorCounts(1, 0, 0, 3)]


def test_character_error_rate_three_scripts() -> None:
    # 어제meeting에서 = 2 + 7 + 2 = 11 characters, e -> a: 1/11
    assert character_error_rate(["어제 meeting에서"], ["어제 meating에서"]) == pytest.approx(1 / 11)
    # 東京へ行く vs 東京に行く: 1/5 = 0.2
    assert character_error_rate(["東京へ行く"], ["東京に行く"]) == pytest.approx(0.2)
    # Haus vs Maus: 1/4; Straße vs STRASSE both normalize to "strasse": 0.0
    assert character_error_rate(["Haus"], ["Maus"]) == pytest.approx(0.25)
    assert character_error_rate(["Straße"], ["STRASSE"]) == 0.0
    # Spaces are not characters here: "ice cream" vs "icecream" = 0/8
    assert character_error_counts(["ice cream"], ["icecream"]) == [ErrorCounts(0, 0, 0, 8)]


# ------------------------------------------------------------ per-language rates


def test_per_language_attribution_with_insertions() -> None:
    # 1) 어,제(ko) meeting(en) 에,서(ko) vs 어,제,meeting,음,에,서: 음 inserted after
    #    meeting -> preceding token is meeting -> en.
    # 2) ich,habe,das(de) file(en) gedownloadet(de) vs äh,ich,habe,das,feil:
    #    äh inserted at the start -> following token ich -> de; file->feil sub -> en;
    #    gedownloadet deleted -> de.
    # en: (1 ins + 1 sub) / 2 tokens = 1.0; de: (1 ins + 1 del) / 4 = 0.5; ko: 0 / 4 = 0.0
    tagged = [KO_TAGGED, DE_TAGGED]
    hyps = ["어제 meeting 음 에서", "äh ich habe das feil"]
    assert per_language_error_rates(tagged, hyps) == pytest.approx(
        {"de": 0.5, "en": 1.0, "ko": 0.0}
    )
    assert per_language_error_counts(tagged, hyps) == {
        "de": ErrorCounts(0, 1, 1, 4),
        "en": ErrorCounts(1, 0, 1, 2),
        "ko": ErrorCounts(0, 0, 0, 4),
    }


def test_per_language_han_and_kana() -> None:
    # 我,们,明,天,开(zh) meeting(en) vs 我,们,明,天,开,会: 1 sub on en -> en 1/1, zh 0/5
    # 今,日,は(ja) meeting(en) で,す(ja) vs 今,日,は,で,す: meeting deleted -> en 1/1
    # 東,京,へ,行,く(ja) vs ...く,よ: よ inserted at the end -> preceding く -> ja
    # ja: 1 ins / (5 + 5) tokens = 0.1; en: 2 / 2 = 1.0; zh: 0 / 5 = 0.0
    tagged = [ZH_TAGGED, JA_TAGGED, [("東京", "ja"), ("へ", "ja"), ("行く", "ja")]]
    hyps = ["我们明天开会", "今日はです", "東京へ行くよ"]
    assert per_language_error_rates(tagged, hyps) == pytest.approx(
        {"en": 1.0, "ja": 0.1, "zh": 0.0}
    )


def test_per_language_insertion_into_empty_reference_has_no_language() -> None:
    # 1) empty reference, "hallo" inserted: no language to charge, left out.
    # 2) hallo(de) vs hallo: 0 / 1. Result: de 0.0.
    assert per_language_error_rates([[], [("Hallo", "de")]], ["hallo", "hallo"]) == {"de": 0.0}
    with pytest.raises(ValueError, match="no tokens"):
        per_language_error_rates([[], [("?!", "de")]], ["hallo", ""])


# ------------------------------------------------------------------------- PIER


def test_pier_split_word_counts_insertion_on_either_side() -> None:
    # ref 어,제(ko) meeting(en) 에,서(ko), matrix ko -> 1 point of interest (meeting).
    # hyp 어,제,미,팅,에,서: meeting -> 1 sub + 1 ins, and the insertion lies next to
    # meeting whichever side the alignment puts it: (1 + 1) / 1 = 2.0
    assert pier([KO_TAGGED], ["어제 미팅 에서"], ["ko"]) == pytest.approx(2.0)
    assert pier_error_counts([KO_TAGGED], ["어제 미팅 에서"], ["ko"]) == [ErrorCounts(1, 0, 1, 1)]


def test_pier_insertion_adjacency() -> None:
    # 음 inserted at the start, next to 어 (ko, matrix) only -> not counted: 0 / 1
    assert pier([KO_TAGGED], ["음 어제 meeting 에서"], ["ko"]) == 0.0
    # 음 inserted between 제 (ko) and meeting (en) -> adjacent: 1 / 1
    assert pier([KO_TAGGED], ["어제 음 meeting 에서"], ["ko"]) == pytest.approx(1.0)


def test_pier_ignores_matrix_language_errors() -> None:
    # German matrix: das and gedownloadet deleted, File (the only POI) right: 0 / 1
    assert pier([DE_TAGGED], ["ich habe file"], ["de"]) == 0.0
    # File -> feil: 1 / 1
    assert pier([DE_TAGGED], ["ich habe das feil gedownloadet"], ["de"]) == pytest.approx(1.0)


def test_pier_corpus() -> None:
    # Korean split (2 errors / 1 POI) + German sub (1 / 1) + a monolingual Korean
    # utterance with 2 deletions and no POI (0 / 0): (2 + 1 + 0) / (1 + 1 + 0) = 1.5
    tagged = [KO_TAGGED, DE_TAGGED, [("안녕", "ko")]]
    hyps = ["어제 미팅 에서", "ich habe das feil gedownloadet", ""]
    matrix = ["ko", "de", "ko"]
    assert pier(tagged, hyps, matrix) == pytest.approx(1.5)
    assert pier_error_counts(tagged, hyps, matrix)[2] == ErrorCounts(0, 0, 0, 0)
    # The mixed error rate over the same data dilutes it: (2 + 1 + 2) / (5 + 5 + 2) = 5/12
    refs = ["어제 meeting 에서", "Ich habe das File gedownloadet", "안녕"]
    assert mixed_error_rate(refs, hyps) == pytest.approx(5 / 12)


def test_pier_kana_and_han() -> None:
    # 今,日,は(ja) meeting(en) で,す(ja) vs 今,日,は,ミ,ー,テ,ィ,ン,グ,で,す
    # matrix ja: 1 POI; 1 sub + 5 ins next to it: 6 / 1 = 6.0
    hyp = "今日はミーティングです"
    assert pier([JA_TAGGED], [hyp], ["ja"]) == pytest.approx(6.0)
    # matrix en: POIs are the 5 ja tokens; the sub is on meeting (not a POI) but the 5
    # insertions touch は or で (POIs) on either side: 5 / 5 = 1.0
    assert pier([JA_TAGGED], [hyp], ["en"]) == pytest.approx(1.0)
    # Chinese matrix: meeting -> 会: 1 / 1
    assert pier([ZH_TAGGED], ["我们明天开会"], ["zh"]) == pytest.approx(1.0)


def test_pier_errors() -> None:
    with pytest.raises(ValueError, match="no tokens"):
        pier([[("안녕", "ko")]], ["안녕"], ["ko"])  # no points of interest at all
    with pytest.raises(ValueError, match="pair up"):
        pier([KO_TAGGED], ["어제 meeting 에서"], ["ko", "en"])


# ------------------------------------------------------------ script confusion


def test_script_confusion_hangul_written_as_kana() -> None:
    # 어,제,미,팅,에,서 (6 Hangul) + 어,제 (Hangul) + ミ,ー,テ,ィ,ン,グ (6 kana): 6 / 14
    hyps = ["어제 미팅 에서", "어제 ミーティング"]
    assert script_confusion_rate(hyps, ("ko", "en")) == pytest.approx(6 / 14)
    assert script_confusion_rate(hyps, ("en", "ko")) == pytest.approx(6 / 14)


def test_script_confusion_japanese_accepts_han() -> None:
    # 今,日 (Han) は,で,す (kana) meeting (Latin): all allowed for ja-en -> 0.0
    assert script_confusion_rate(["今日はmeetingです"], ("ja", "en")) == 0.0
    # 今,日,는,meeting: 는 is Hangul -> 1 / 4
    assert script_confusion_rate(["今日는meeting"], ("ja", "en")) == pytest.approx(0.25)


def test_script_confusion_chinese_and_latin() -> None:
    # 我,们,开 (Han) + 6 kana: kana is not Chinese -> 6 / 9
    assert script_confusion_rate(["我们开ミーティング"], ("zh", "en")) == pytest.approx(6 / 9)
    assert script_confusion_rate(["我们开meeting吧"], ("zh", "en")) == 0.0
    # ich,habe,das (Latin) + файл (Cyrillic): 1 / 4
    assert script_confusion_rate(["ich habe das файл"], ("de", "en")) == pytest.approx(0.25)
    # The digit token "3" is not a letter and is left out: 1 / 3
    assert script_confusion_rate(["ich habe 3 файл"], ("de", "en")) == pytest.approx(1 / 3)


def test_script_confusion_without_tokens_and_unknown_language() -> None:
    assert script_confusion_rate([], ("ko", "en")) == 0.0
    assert script_confusion_rate(["", "?!", "123"], ("ko", "en")) == 0.0
    with pytest.raises(ValueError, match="no known script"):
        script_confusion_rate(["hallo"], ("xx", "en"))


# ------------------------------------------------------------------- bootstrap

REFS = [
    "어제 meeting 에서",
    "我们明天开meeting",
    "東京へ行く",
    "Ich habe das File gedownloadet",
    "今日はmeetingです",
    "안녕하세요 반가워요",
    "Guten Morgen",
    "我们开会吧",
]
HYPS = [
    "어제 meating 에서",
    "我们明天开会",
    "東京に行きます",
    "ich habe das feil",
    "今日はミーティングです",
    "안녕하세요 반가워요",
    "guten morgen",
    "我们开会",
]


def test_bootstrap_ci_constant_rate_is_degenerate() -> None:
    # Every utterance has 1 error / 4 tokens, so every resample has rate 0.25.
    assert bootstrap_ci([ErrorCounts(1, 0, 0, 4)] * 10) == (0.25, 0.25)


def test_bootstrap_ci_contains_point_estimate_and_is_deterministic() -> None:
    counts = mixed_error_counts(REFS, HYPS)
    point = mixed_error_rate(REFS, HYPS)
    low, high = bootstrap_ci(counts, seed=7)
    assert low <= point <= high
    assert low < high
    assert bootstrap_ci(counts, seed=7) == (low, high)
    # Same seed, same resamples: the 50% interval nests in the 95% one.
    low50, high50 = bootstrap_ci(counts, seed=7, confidence=0.5)
    assert low <= low50 <= high50 <= high


def test_bootstrap_ci_errors() -> None:
    with pytest.raises(ValueError, match="empty"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([ErrorCounts(1, 0, 0, 4)], confidence=1.0)
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_ci([ErrorCounts(1, 0, 0, 4)], n_resamples=0)
    with pytest.raises(ValueError, match="no tokens"):
        bootstrap_ci([ErrorCounts(0, 0, 1, 0)])


def test_paired_bootstrap_clear_winner() -> None:
    # A is perfect; B has at least one error on every utterance, so every resample has
    # A's total 0 < B's total: A is never "not better" -> 0.0, and B vs A -> 1.0.
    counts_a = mixed_error_counts(REFS, REFS)
    counts_b = mixed_error_counts(REFS, [h + " 음" for h in HYPS])
    assert paired_bootstrap(counts_a, counts_b) == 0.0
    assert paired_bootstrap(counts_b, counts_a) == 1.0
    # Identical systems tie in every resample; a tie is "not better" -> 1.0
    assert paired_bootstrap(counts_a, counts_a) == 1.0


def test_paired_bootstrap_noisy_difference() -> None:
    # A: 1 error on each of 40 utterances (total 40 in every resample). B: 0 or 4
    # errors alternately (expected 80, sd about 12.6); B <= 40 is ~3 sd away.
    counts_a = [ErrorCounts(1, 0, 0, 10)] * 40
    counts_b = [ErrorCounts(4 * (i % 2), 0, 0, 10) for i in range(40)]
    p_value = paired_bootstrap(counts_a, counts_b, seed=3)
    assert p_value < 0.01
    assert paired_bootstrap(counts_b, counts_a, seed=3) > 0.99
    assert paired_bootstrap(counts_a, counts_b, seed=3) == p_value


def test_paired_bootstrap_requires_same_utterances() -> None:
    with pytest.raises(ValueError, match="same utterances"):
        paired_bootstrap([ErrorCounts(0, 0, 0, 3)], [])
    with pytest.raises(ValueError, match="same order"):
        paired_bootstrap([ErrorCounts(0, 0, 0, 3)], [ErrorCounts(0, 0, 0, 5)])


# ------------------------------------------------------------------ language swaps


def test_language_swap_hangul_for_an_english_word() -> None:
    # 어,제,meeting,에,서 (5 reference tokens); "meeting" heard as 미,팅: one substitution
    # by a Hangul token (Korean's script, not English's) plus one insertion -> 1 / 5.
    tagged = [[("어제", "ko"), ("meeting", "en"), ("에서", "ko")]]
    assert language_swap_rate(tagged, ["어제 미팅 에서"], ("ko", "en")) == pytest.approx(1 / 5)
    assert language_swap_rate(tagged, ["어제 meeting 에서"], ("en", "ko")) == 0.0
    # Korean heard in Latin letters: both syllables substituted by English-script tokens.
    assert language_swap_rate([[("회의", "ko")]], ["hoe ui"], ("ko", "en")) == 1.0


def test_language_swap_kana_and_third_scripts() -> None:
    # "bacon" heard as ベ,ー,コ,ン: one substitution by kana (Japanese's script) -> 1 / 1.
    assert language_swap_rate([[("bacon", "en")]], ["ベーコン"], ("ja", "en")) == 1.0
    # For ko-en, kana is neither language's script: script confusion, not a swap.
    assert language_swap_rate([[("bacon", "en")]], ["ベーコン"], ("ko", "en")) == 0.0
    assert script_confusion_rate(["ベーコン"], ("ko", "en")) == 1.0


def test_language_swap_is_zero_for_same_script_pairs_and_empty_hypotheses() -> None:
    tagged = [[("ich", "de"), ("meeting", "en")]]
    assert language_swap_rate(tagged, ["ich mieting"], ("de", "en")) == 0.0  # Latin is both
    assert language_swap_rate(tagged, [""], ("de", "en")) == 0.0  # deletions are no swaps
    with pytest.raises(ValueError, match="no tokens"):
        language_swap_rate([[]], ["hallo"], ("de", "en"))


def test_paired_difference_interval_on_hand_computed_cases() -> None:
    same = [ErrorCounts(1, 0, 0, 4), ErrorCounts(0, 2, 0, 4), ErrorCounts(0, 0, 0, 4)]
    assert paired_difference_ci(same, same) == (0.0, 0.0)
    # B makes exactly one more error than A on every 4-token utterance: rate(A) - rate(B) is
    # -1/4 in every resample, so the interval is that single point.
    worse = [ErrorCounts(c.substitutions + 1, c.deletions, c.insertions, 4) for c in same]
    low, high = paired_difference_ci(same, worse)
    assert low == pytest.approx(-0.25) and high == pytest.approx(-0.25)
    # Differences that vary by utterance give an interval around the corpus-level difference.
    a = [ErrorCounts(0, 0, 0, 5)] * 10 + [ErrorCounts(5, 0, 0, 5)] * 10
    b = [ErrorCounts(1, 0, 0, 5)] * 20
    low, high = paired_difference_ci(a, b, n_resamples=2000)
    assert low < (50 - 20) / 100 < high and high - low < 0.6
    with pytest.raises(ValueError, match="same utterances"):
        paired_difference_ci(same, same[:2])
