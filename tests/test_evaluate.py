"""Evaluation: batched decoding, raw predictions on disk, and bad audio failing cleanly."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from csbench.data.manifest import ManifestError, read_manifest
from csbench.evaluate.run import DecodeSettings, evaluate_model, evaluate_pairs
from csbench.models.decode import transcribe
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


def test_a_rerun_decodes_only_new_or_stale_pairs(tiny_base, speech, tmp_path) -> None:
    """Adding a pair to a model's evaluation job decodes only that pair; touching the model
    (a retrained checkpoint) or changing a decoding setting decodes everything again."""
    other = tmp_path / "other"
    shutil.copytree(speech["test"].parent, other)
    tests = {"en-ko": str(speech["test"])}
    outputs = {"en-ko": str(tmp_path / "out/en-ko.json"), "de-ko": str(tmp_path / "out/de-ko.json")}
    settings = DecodeSettings(max_new_tokens=8, device_name="cpu")
    run = dict(model_inputs=[str(tiny_base)], cache_dir=str(tmp_path / "cache"))
    first = evaluate_pairs("base", "base", str(tiny_base), None, tests, outputs, settings, **run)
    assert first == {"en-ko": True}
    before = json.loads((tmp_path / "out/en-ko.json").read_text())
    (tmp_path / "out/en-ko.json").unlink()  # Snakemake removes a rerun job's outputs first
    tests["de-ko"] = str(other / speech["test"].name)
    second = evaluate_pairs("base", "base", str(tiny_base), None, tests, outputs, settings, **run)
    assert second == {"en-ko": False, "de-ko": True}
    assert json.loads((tmp_path / "out/en-ko.json").read_text()) == before
    weights = next(tiny_base.glob("*.safetensors"))
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    try:
        assert evaluate_pairs("base", "base", str(tiny_base), None, tests, outputs, settings, **run) == {
            "en-ko": True, "de-ko": True}
    finally:
        os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    wider = DecodeSettings(max_new_tokens=9, device_name="cpu")
    assert evaluate_pairs("base", "base", str(tiny_base), None, tests, outputs, wider, **run) == {
        "en-ko": True, "de-ko": True}


KILL_AFTER_TWO_BATCHES = """
import os, signal, sys
from csbench.evaluate import journal
from csbench.evaluate.run import DecodeSettings, evaluate_pairs

append, count = journal.DecodeJournal.append, []
def append_then_die(self, hypotheses):  # the moment of the kill: right after batch 2 is recorded
    append(self, hypotheses)
    count.append(1)
    if len(count) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
journal.DecodeJournal.append = append_then_die
base, manifest, output, cache = sys.argv[1:]
evaluate_pairs("base", "base", base, None, {"en-ko": manifest}, {"en-ko": output},
               DecodeSettings(batch_size=1, max_new_tokens=8, device_name="cpu"),
               model_inputs=[base], cache_dir=cache)
"""


def test_a_killed_evaluation_resumes_within_the_pair_and_loses_at_most_one_batch(
    tiny_base, speech, tmp_path, caplog
) -> None:
    """A process SIGKILLed after its second batch (of four) leaves a journal of two batches;
    the rerun decodes only the other two, and its predictions equal an uninterrupted run's.
    A half-written journal line (a kill mid-write) is dropped with a warning and its batch
    decoded again; a journal written under other inputs is discarded."""
    import subprocess
    import sys

    settings = DecodeSettings(batch_size=1, max_new_tokens=8, device_name="cpu")
    tests = {"en-ko": str(speech["test"])}
    reference = tmp_path / "reference.json"
    evaluate_pairs("base", "base", str(tiny_base), None, tests, {"en-ko": str(reference)}, settings)
    expected = json.loads(reference.read_text())["utterances"]

    def rerun(name: str) -> dict:
        output = tmp_path / f"{name}.json"
        evaluate_pairs("base", "base", str(tiny_base), None, tests, {"en-ko": str(output)}, settings,
                       model_inputs=[str(tiny_base)], cache_dir=str(tmp_path / name))
        assert not (tmp_path / name / "en-ko.journal.jsonl").exists()  # removed once the pair is done
        data = json.loads(output.read_text())
        assert data["utterances"] == expected
        return data

    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_TWO_BATCHES, str(tiny_base), str(speech["test"]),
                             str(tmp_path / "killed.json"), str(tmp_path / "killed")], capture_output=True)
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    journal = tmp_path / "killed" / "en-ko.journal.jsonl"
    assert len(journal.read_text().splitlines()) == 3  # header + two batches
    assert not (tmp_path / "killed.json").exists()
    with caplog.at_level("INFO", logger="csbench.evaluate.run"):
        assert rerun("killed")["timing"]["resumed_utterances"] == 2
    assert "2 of 4 utterances decoded before the job was stopped" in caplog.text

    # A kill while writing a line: the line is half there.
    (tmp_path / "half").mkdir()
    header = json.dumps({"fingerprint": json.loads((tmp_path / "killed" / "en-ko.json").read_text())["fingerprint"]})
    first = {"hypotheses": {expected[0]["id"]: expected[0]["hypothesis"]}}
    (tmp_path / "half" / "en-ko.journal.jsonl").write_text(
        header + "\n" + json.dumps(first, sort_keys=True) + "\n" + '{"hypotheses": {"en-ko-te')
    caplog.clear()
    with caplog.at_level("INFO"):
        assert rerun("half")["timing"]["resumed_utterances"] == 1
    assert "line 3 is incomplete" in caplog.text

    # A journal of other inputs (another fingerprint) is never mixed in.
    (tmp_path / "half" / "en-ko.json").unlink()
    wrong = {"hypotheses": {u["id"]: "wrong" for u in expected}}
    (tmp_path / "half" / "en-ko.journal.jsonl").write_text(
        json.dumps({"fingerprint": "other"}) + "\n" + json.dumps(wrong) + "\n")
    assert rerun("half")["timing"]["resumed_utterances"] == 0


def test_bf16_decoding_where_native_and_fp32_elsewhere(tiny_base, speech, tmp_path) -> None:
    """evaluate.precision: bf16 casts the weights where the CPU computes bf16 natively, records
    the dtype in the predictions, and is part of the cache fingerprint (a change decodes again)."""
    import torch

    from csbench.errors import ConfigError
    from csbench.models.decode import decode_dtype
    from csbench.models.loading import has_native_bf16

    cpu = torch.device("cpu")
    assert decode_dtype(cpu, "auto") == decode_dtype(cpu, "fp32") == torch.float32
    expected = torch.bfloat16 if has_native_bf16(cpu) else torch.float32
    assert decode_dtype(cpu, "bf16") == expected
    with pytest.raises(ConfigError, match="evaluate.precision"):
        decode_dtype(cpu, "fp8")
    tests = {"en-ko": str(speech["test"])}
    outputs = {"en-ko": str(tmp_path / "en-ko.json")}
    run = dict(model_inputs=[str(tiny_base)], cache_dir=str(tmp_path / "cache"))
    fp32 = DecodeSettings(max_new_tokens=8, device_name="cpu")
    assert evaluate_pairs("base", "base", str(tiny_base), None, tests, outputs, fp32, **run) == {"en-ko": True}
    assert json.loads((tmp_path / "en-ko.json").read_text())["dtype"] == "float32"
    bf16 = DecodeSettings(max_new_tokens=8, device_name="cpu", precision="bf16")
    assert evaluate_pairs("base", "base", str(tiny_base), None, tests, outputs, bf16, **run) == {"en-ko": True}
    data = json.loads((tmp_path / "en-ko.json").read_text())
    assert data["dtype"] == str(expected).removeprefix("torch.")
    assert len(data["utterances"]) == len(read_manifest(speech["test"]))
