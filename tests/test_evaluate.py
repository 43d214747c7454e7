"""Evaluation: batched decoding, raw predictions on disk, and bad audio failing cleanly."""

from __future__ import annotations

import json
import shutil

import pytest

from csbench.data.manifest import ManifestError, read_manifest
from csbench.evaluate.decode import transcribe
from csbench.evaluate.run import evaluate_model
from csbench.models.loading import load_processor, load_whisper


def test_batched_decoding_equals_one_at_a_time(tiny_base, speech) -> None:
    model, processor = load_whisper(tiny_base), load_processor(tiny_base)
    utterances = read_manifest(speech["test"])
    batched, timing = transcribe(model, processor, utterances, batch_size=8, max_new_tokens=8)
    single, _ = transcribe(model, processor, utterances, batch_size=1, max_new_tokens=8)
    assert batched == single
    assert set(batched) == {u.id for u in utterances}
    assert timing["audio_s"] == pytest.approx(sum(u.duration for u in utterances), abs=0.01)
    assert timing["rtfx"] > 0


def test_evaluation_writes_raw_predictions(tiny_base, speech, tmp_path) -> None:
    output = tmp_path / "predictions.json"
    evaluate_model("base", "base", str(tiny_base), None, str(speech["test"]), "en-ko", str(output),
                   max_new_tokens=8, device_name="cpu")
    data = json.loads(output.read_text())
    assert data["model"] == "base" and data["pair"] == "en-ko" and data["language_mode"] == "matrix"
    references = [u.text for u in read_manifest(speech["test"])]
    assert [u["reference"] for u in data["utterances"]] == references
    assert all(isinstance(u["hypothesis"], str) for u in data["utterances"])


def test_corrupt_audio_names_the_file_and_writes_nothing(tiny_base, speech, tmp_path) -> None:
    manifest_dir = tmp_path / "pair"
    shutil.copytree(speech["test"].parent, manifest_dir)
    manifest = manifest_dir / speech["test"].name
    first = read_manifest(manifest)[0]
    first.audio.write_bytes(b"RIFF not really a wave file")
    output = tmp_path / "predictions.json"
    with pytest.raises(ManifestError) as error:
        evaluate_model("base", "base", str(tiny_base), None, str(manifest), "en-ko", str(output),
                       device_name="cpu")
    assert first.audio.name in str(error.value) and "cannot be decoded" in str(error.value)
    assert not output.exists()
    assert not list(tmp_path.glob(".predictions.json.tmp*"))
