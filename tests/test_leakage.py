"""The leakage guard names the leaked utterance; clean data passes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from csbench.data.leakage import (
    LeakageError,
    check_leakage,
    language_vocabularies,
    producible_by_another_pair,
)
from csbench.data.lexicon import load_lexicon
from csbench.data.synthesize import sentence_pool
from csbench.data.text import Sentence, Token
from csbench.languages import canonical_pair
from csbench.metrics import normalize

REPO = Path(__file__).resolve().parents[1]


def _rewrite(path, change) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    change(rows)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def test_clean_splits_pass(speech) -> None:
    assert check_leakage(speech["test"], [speech["train"]]) == 12


def test_leaked_text_is_named_even_with_other_case_and_punctuation(speech, tmp_path) -> None:
    shutil.copytree(speech["train"].parent, tmp_path / "train")
    train = tmp_path / "train" / speech["train"].name
    leaked = json.loads(speech["test"].read_text().splitlines()[1])

    def plant(rows) -> None:
        rows[5]["text"] = leaked["text"].upper() + "!"

    _rewrite(train, plant)
    with pytest.raises(LeakageError) as error:
        check_leakage(speech["test"], [train])
    message = str(error.value)
    assert leaked["id"] in message and str(train) in message and "\n" not in message


def test_leaked_id_is_named(speech, tmp_path) -> None:
    shutil.copytree(speech["train"].parent, tmp_path / "train")
    train = tmp_path / "train" / speech["train"].name
    leaked_id = json.loads(speech["test"].read_text().splitlines()[0])["id"]

    def plant(rows) -> None:
        rows[0]["id"] = leaked_id

    _rewrite(train, plant)
    with pytest.raises(LeakageError, match=f"utterance id '{leaked_id}'"):
        check_leakage(speech["test"], [train])


def test_a_word_spelled_alike_in_two_languages_makes_a_sentence_producible_elsewhere() -> None:
    vocabularies = language_vocabularies(load_lexicon())
    korean = [Token("이번", "ko"), Token("달에는", "ko")]
    # German "Link" is English "link" after normalization: en-ko may say this sentence too.
    assert producible_by_another_pair(Sentence(korean + [Token("Link", "de")], "ko", "word"), vocabularies)
    assert not producible_by_another_pair(
        Sentence(korean + [Token("Besprechung", "de")], "ko", "word"), vocabularies
    )


def test_a_held_out_test_set_shares_no_text_with_another_pairs_training_set() -> None:
    """configs/tight.yaml's sizes: de-ko's plain test pool holds texts of en-ko's training
    pool (German and English homographs in a Korean sentence); the held-out one none, and
    ja-ko, where no word is spelled alike, is the same pool either way."""
    limits, levels = {"noun": 100, "np": 25}, ("word", "phrase", "sentence")
    sizes = {"train": 1280, "dev": 24, "test": 800}
    training = {normalize(s.text) for s in sentence_pool("en-ko", sizes, "train", 0, levels, limits)}

    def test_texts(pair: str, held_out: bool) -> list[str]:
        pool = sentence_pool(pair, {"test": 800}, "test", 0, levels, limits, held_out=held_out)
        return [normalize(s.text) for s in pool]

    assert set(test_texts("de-ko", held_out=False)) & training
    assert not set(test_texts("de-ko", held_out=True)) & training
    assert test_texts("ja-ko", held_out=True) == test_texts("ja-ko", held_out=False)


#: The only rules that may read an unseen pair's data: evaluation, scoring, the leakage check.
READERS_OF_UNSEEN = {"evaluate", "summarize", "check_leakage", "synthesize_pair", "prepare_split"}


@pytest.mark.parametrize("configs", [("config.yaml",), ("config.yaml", "configs/paper.yaml")])
def test_no_tuning_job_reads_an_unseen_pair(configs) -> None:
    """Every job of the DAG, from Snakemake's own job list: merge and DG searches read only
    the dev sets of the seen pairs they combine; nothing but evaluation touches unseen pairs,
    and exactly the unseen pairs' synthesis passes over sentences another pair could say."""
    from test_resources import _dry_run_resources

    config = yaml.safe_load((REPO / configs[-1]).read_text())
    unseen = {canonical_pair(pair) for pair in config["unseen_pairs"]}
    jobs = _dry_run_resources(*configs)
    searches = {"merge_recipe": 0, "select_dg": 0}
    held_out = {job["wildcards"]["pair"]: job["params"]["held_out"] for job in jobs
                if job["rule"] == "synthesize_pair"}
    assert held_out == {pair: pair in unseen for pair in held_out} and any(held_out.values())
    for job in jobs:
        pairs_read = {Path(path).parent.name for path in job["input"] if "results/data/pairs/" in path}
        if job["rule"] not in READERS_OF_UNSEEN:
            assert not pairs_read & unseen, (job["rule"], job["wildcards"])
        if job["rule"] in searches:
            members = set(job["wildcards"]["combo"].split("+"))
            dev = {Path(path).parent.name for path in job["input"] if path.endswith("/dev.jsonl")}
            assert dev <= members, (job["rule"], job["wildcards"])
            searches[job["rule"]] += bool(dev)
    assert searches["merge_recipe"] > 0 and searches["select_dg"] > 0  # the grids are searched
