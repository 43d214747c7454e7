"""The leakage guard names the leaked utterance; clean data passes."""

from __future__ import annotations

import json
import shutil

import pytest

from csbench.data.leakage import LeakageError, check_leakage


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
