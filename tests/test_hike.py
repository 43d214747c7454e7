"""HiKE's scoring conventions (csbench/hike.py) against hand-counted cases."""

from __future__ import annotations

import json
import math

import pytest

from csbench.hike import hike_mer, hike_tokens, hike_utterance_mer, normalize_hypothesis, parse_loanwords
from csbench.report.scoring import score_run


def test_hangul_syllables_are_tokens_and_other_text_is_words() -> None:
    assert hike_tokens("실험 algorithm 은") == ["실", "험", "algorithm", "은"]
    assert hike_tokens("bug는") == ["bug", "는"]


def test_hypothesis_normalization_is_jiwers_chain() -> None:
    assert normalize_hypothesis("I'm  here — OK, [noise] Done!") == "i am here ok done"


def test_the_worked_example_of_hikes_metric() -> None:
    # HiKE's own example: 30 Korean syllables + 4 English words = 34 reference tokens;
    # 5 substitutions and 9 insertions → 14 / 34.
    reference = "실험 결과 제안한 algorithm 은 기존 방법 대비 accuracy 가 향상되었으며 computational efficiency 또한 크게 개선되었다"
    hypothesis = "실험 결과 제한화 algorithm 은 기존 방법 대비 r curacy 가 향상되었으며 환비테이션을 이펙션 시 또한 크게 개선되었다"
    assert math.isclose(hike_utterance_mer(reference, hypothesis), 14 / 34)


def test_loanwords_are_substituted_on_both_sides_before_scoring() -> None:
    loanwords = parse_loanwords(json.dumps([{"Korean": "버그", "English": "bug"}]))
    assert loanwords == [("버그", "bug")]
    assert hike_utterance_mer("버그 를 고쳤다", "bug를 고쳤다", loanwords) == 0.0
    assert hike_utterance_mer("버그 를 고쳤다", "bug를 고쳤다") > 0  # without the label: 2 edits
    with pytest.raises(ValueError, match="a loanword is"):
        parse_loanwords([{"Korean": "버그"}])


def test_the_reported_number_is_a_mean_over_utterances() -> None:
    rates = hike_mer(["a b", "c d e f g h i j k l"], ["a x", "c d e f g h i j k l"], [(), ()])
    assert rates == [0.5, 0.0]
    data = {"model": "base", "pair": "en-ko", "utterances": [
        {"id": "1", "reference": "a b", "hypothesis": "a x"},
        {"id": "2", "reference": "c d e f g h i j k l", "hypothesis": "c d e f g h i j k l"}]}
    run = score_run(data, None, hike=True)
    assert run.means["mer_hike"] == [0.5, 0.0]
    # csbench's default stays corpus-level: 1 edit over 12 tokens, not (0.5 + 0) / 2.
    assert math.isclose(sum(c.errors for c in run.counts["mer"]) / sum(c.reference_tokens for c in run.counts["mer"]), 1 / 12)
