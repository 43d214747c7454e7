"""Real-corpus sources: Hugging Face datasets and local manifests become csbench manifests,
a non-default Whisper checkpoint evaluates them, and the paper preset's DAG builds offline.

Nothing here reaches the hub: datasets are made in the test with `datasets` itself
(`Dataset.from_dict` + `Audio` + `save_to_disk` / `to_parquet`), the way a downloaded copy
looks on disk, and hub downloads run with HF_HUB_OFFLINE=1 to check their one-line errors.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile
import yaml
from workflow_utils import REPO, job_counts, planned_jobs, run_snakemake

from csbench.config import ConfigError
from csbench.data.manifest import SAMPLE_RATE, read_manifest
from csbench.data.sources import SourceError, check_sources, prepare_source, source_for
from csbench.hub import dataset_download, download_key, hub_failure_reason, hub_model_dir, safe_name

SOURCE_RATE = 22_050
TEXTS = ["어제 meeting 에서 만났어요", "이 project 는 정말 좋아요", "오늘 lunch 뭐 먹을까", "그 report 다 썼어요"]
TAGS = [
    [["어제", "ko"], ["meeting", "en"], ["에서", "ko"], ["만났어요", "ko"]],
    [["이", "ko"], ["project", "en"], ["는", "ko"], ["정말", "ko"], ["좋아요", "ko"]],
    [["오늘", "ko"], ["lunch", "en"], ["뭐", "ko"], ["먹을까", "ko"]],
    [["그", "ko"], ["report", "en"], ["다", "ko"], ["썼어요", "ko"]],
]


def _tone(seconds: float, rate: int, seed: int, channels: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.3 * np.sin(2 * np.pi * (180 + 40 * seed) * t) + 0.01 * rng.standard_normal(t.size)
    return np.stack([mono] * channels, axis=1) if channels > 1 else mono


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    """Four WAVs at 22.05 kHz (not Whisper's 16 kHz), 0.8 to 1.4 s long."""
    root = tmp_path_factory.mktemp("clips")
    paths = []
    for index in range(len(TEXTS)):
        path = root / f"clip{index}.wav"
        soundfile.write(path, _tone(0.8 + 0.2 * index, SOURCE_RATE, index), SOURCE_RATE)
        paths.append(path)
    return paths


def _hf_dataset(clips: list[Path]):
    """An ASR dataset shaped like a hub one: Audio column at 22.05 kHz, text, tags, language."""
    from datasets import Audio, Dataset

    dataset = Dataset.from_dict(
        {
            "audio": [str(path) for path in clips],
            "sentence": TEXTS,
            "tags": [json.dumps(tags, ensure_ascii=False) for tags in TAGS],
            "language": ["kor-eng", "kor-eng", "kor-eng", "jpn-eng"],
            "utt": [f"utt-{i}" for i in range(len(TEXTS))],
        }
    )
    # cast_column maps paths to Audio storage without decoding (no torchcodec needed).
    return dataset.cast_column("audio", Audio(sampling_rate=SOURCE_RATE))


@pytest.fixture(scope="module")
def saved_dataset(tmp_path_factory, clips) -> Path:
    """`save_to_disk` output (audio bytes embedded), as the download_dataset rule writes."""
    path = tmp_path_factory.mktemp("hf") / "saved"
    _hf_dataset(clips).save_to_disk(str(path))
    for clip in clips:  # the copy must not depend on the original files
        assert clip.exists()
    return path


HF_SPEC = {
    "type": "hf",
    "split": "train",
    "columns": {"audio": "audio", "text": "sentence", "tokens": "tags", "id": "utt", "matrix_lang": "language"},
}


def _prepare(spec: dict, tmp_path: Path, pair: str = "ko-en", split: str = "test", **inputs) -> list:
    out = tmp_path / "results/data/pairs" / pair
    prepare_source(spec, pair, split, out / f"{split}.jsonl", out / f"{split}_audio", **inputs)
    return read_manifest(out / f"{split}.jsonl")


def _assert_16k(utterances, durations: list[float]) -> None:
    for utterance, seconds in zip(utterances, durations, strict=True):
        info = soundfile.info(str(utterance.audio))
        assert info.samplerate == SAMPLE_RATE and info.channels == 1
        assert utterance.duration == pytest.approx(seconds, abs=2e-3)
        assert utterance.load_audio().size == pytest.approx(seconds * SAMPLE_RATE, abs=40)


def test_hf_source_from_save_to_disk(saved_dataset, tmp_path) -> None:
    spec = {**HF_SPEC, "id": str(saved_dataset)}
    utterances = _prepare(spec, tmp_path, dataset=saved_dataset)
    assert [u.id for u in utterances] == [f"en-ko:utt-{i}" for i in range(4)]  # source ids, pair-prefixed
    assert [u.text for u in utterances] == TEXTS
    assert utterances[0].tokens == (("어제", "ko"), ("meeting", "en"), ("에서", "ko"), ("만났어요", "ko"))
    assert [u.matrix_lang for u in utterances] == ["ko", "ko", "ko", "ja"]  # ISO 639-3 label → Whisper code
    assert {u.pair for u in utterances} == {"en-ko"}
    _assert_16k(utterances, [0.8, 1.0, 1.2, 1.4])
    rows = [json.loads(line) for line in (tmp_path / "results/data/pairs/ko-en/test.jsonl").read_text().splitlines()]
    assert all(row["audio"].startswith("test_audio/") for row in rows)  # relative to the manifest
    assert rows[0]["source"] == f"hf:{saved_dataset}/train"


def test_hf_source_through_load_dataset_then_disk(clips, tmp_path) -> None:
    """Parquet data files (a hub repo's layout) → download_dataset's load_dataset + save_to_disk."""
    from datasets.table import embed_table_storage

    from csbench.hub import download_dataset

    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    # Hub parquet files carry the audio bytes inline (HiKE does), so embed them first.
    embedded = _hf_dataset(clips).with_format("arrow").map(embed_table_storage, batched=True)
    embedded.to_parquet(str(repo / "data/test-00000-of-00001.parquet"))
    copy = tmp_path / "hub/datasets/local/test"
    download_dataset({"kind": "hf", "id": str(repo), "split": "test"}, copy, cache_dir=str(tmp_path / "cache"))
    assert (copy / "state.json").is_file()
    spec = {**HF_SPEC, "id": "owner/name", "split": "test", "filter": {"language": "kor-eng"}, "limit": 2}
    utterances = _prepare(spec, tmp_path, dataset=copy)
    assert len(utterances) == 2 and {u.matrix_lang for u in utterances} == {"ko"}
    # The same data files read in place, as an hf source whose id is a local folder.
    direct = _prepare({**spec, "id": str(repo)}, tmp_path / "direct", dataset=repo)
    assert [u.id for u in direct] == [u.id for u in utterances]


def test_hf_source_picks_the_split_of_a_saved_dataset_dict(clips, tmp_path) -> None:
    from datasets import DatasetDict

    dataset = _hf_dataset(clips)
    saved = tmp_path / "dict"
    DatasetDict({"train": dataset.select([0, 1]), "test": dataset.select([2, 3])}).save_to_disk(str(saved))
    spec = {**HF_SPEC, "id": str(saved), "split": "test"}
    assert [u.text for u in _prepare(spec, tmp_path, dataset=saved)] == TEXTS[2:]
    with pytest.raises(SourceError, match=r"no split 'validation' \(splits: \['test', 'train'\]\)"):
        _prepare({**spec, "split": "validation"}, tmp_path, dataset=saved)


def test_offset_and_limit_give_disjoint_splits(saved_dataset, tmp_path) -> None:
    spec = {**HF_SPEC, "id": str(saved_dataset)}
    dev = _prepare({**spec, "limit": 2}, tmp_path, split="dev", dataset=saved_dataset)
    test = _prepare({**spec, "offset": 2}, tmp_path, split="test", dataset=saved_dataset)
    assert len(dev) == 2 and len(test) == 2
    assert not {u.id for u in dev} & {u.id for u in test}


def test_filter_without_match_names_the_values_present(saved_dataset, tmp_path) -> None:
    spec = {**HF_SPEC, "id": str(saved_dataset), "filter": {"language": "deu-eng"}}
    with pytest.raises(SourceError) as error:
        _prepare(spec, tmp_path, dataset=saved_dataset)
    message = str(error.value)
    assert "jpn-eng, kor-eng" in message and "\n" not in message


def test_wrong_column_names_the_columns_present(saved_dataset, tmp_path) -> None:
    spec = {**HF_SPEC, "id": str(saved_dataset), "columns": {"text": "transcript"}}
    with pytest.raises(SourceError, match=r"column 'transcript' not found .*'sentence'"):
        _prepare(spec, tmp_path, dataset=saved_dataset)


def test_manifest_source_csv_with_absolute_paths(tmp_path) -> None:
    """A CSV of absolute paths to 44.1 kHz stereo FLAC: decoded to 16 kHz mono WAV."""
    rows = []
    for index, text in enumerate(TEXTS[:3]):
        path = tmp_path / "audio" / f"{index}.flac"
        path.parent.mkdir(exist_ok=True)
        soundfile.write(path, _tone(0.5 + 0.25 * index, 44_100, index, channels=2), 44_100)
        rows.append({"path": str(path), "transcript": text, "tags": json.dumps(TAGS[index])})
    manifest = tmp_path / "corpus.csv"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "transcript", "tags"])
        writer.writeheader()
        writer.writerows(rows)
    spec = {"type": "manifest", "path": str(manifest), "matrix_lang": "ko",
            "columns": {"audio": "path", "text": "transcript", "tokens": "tags"}}
    utterances = _prepare(spec, tmp_path / "out", pair="en-ko", split="train", manifest=manifest)
    assert [u.text for u in utterances] == TEXTS[:3]
    assert [u.id for u in utterances] == ["en-ko:train-000000", "en-ko:train-000001", "en-ko:train-000002"]
    assert {u.matrix_lang for u in utterances} == {"ko"} and utterances[1].tokens[1] == ("project", "en")
    _assert_16k(utterances, [0.5, 0.75, 1.0])


def test_manifest_source_jsonl_with_relative_paths(tmp_path, clips) -> None:
    """Relative audio paths are resolved against the manifest file, not the working dir."""
    corpus = tmp_path / "corpus"
    (corpus / "wavs").mkdir(parents=True)
    lines = []
    for index, clip in enumerate(clips):
        (corpus / "wavs" / clip.name).write_bytes(clip.read_bytes())
        lines.append({"id": f"c{index}", "file_name": f"wavs/{clip.name}", "text": TEXTS[index],
                      "language": "kor-eng", "speaker": f"s{index % 2}"})
    lines.append({"id": "empty", "file_name": f"wavs/{clips[0].name}", "text": "  ", "language": "kor-eng"})
    manifest = corpus / "metadata.jsonl"
    manifest.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    spec = {"type": "manifest", "path": "corpus/metadata.jsonl", "filter": {"language": ["kor-eng"]},
            "columns": {"audio": "file_name", "id": "id", "matrix_lang": "language", "speaker": "speaker"},
            "max_duration_s": 1.3}
    cwd = os.getcwd()
    os.chdir(tmp_path)  # the config path is relative to the workflow's directory
    try:
        utterances = _prepare(spec, tmp_path, manifest="corpus/metadata.jsonl")
    finally:
        os.chdir(cwd)
    assert [u.id for u in utterances] == ["en-ko:c0", "en-ko:c1", "en-ko:c2"]  # c3 is 1.4 s > 1.3 s; 'empty' has no text
    _assert_16k(utterances, [0.8, 1.0, 1.2])
    rows = [json.loads(line) for line in (tmp_path / "results/data/pairs/ko-en/test.jsonl").read_text().splitlines()]
    assert [row["speaker"] for row in rows] == ["s0", "s1", "s0"]


def test_missing_audio_is_one_line(tmp_path) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"audio": "nowhere.wav", "text": "hello"}) + "\n")
    with pytest.raises(SourceError) as error:
        _prepare({"type": "manifest", "path": str(manifest)}, tmp_path, manifest=manifest)
    assert "nowhere.wav is missing" in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "results/data/pairs/ko-en/test.jsonl").exists()  # nothing half-written


def test_whisper_checkpoint_evaluates_a_prepared_corpus(saved_dataset, tmp_path) -> None:
    """A non-default checkpoint (30 s window, Whisper's feature extractor and special-token
    layout) saved with save_pretrained goes through load_whisper/load_processor and
    evaluate_model on an hf-prepared manifest, as openai/whisper-medium would."""
    import torch
    from transformers import (
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
    )

    from csbench.evaluate.run import evaluate_model
    from csbench.models.loading import load_processor, load_whisper
    from csbench.models.tiny import generation_config
    from csbench.models.tokenizer import train_tokenizer

    tokenizer = train_tokenizer(TEXTS * 4, vocab_size=300, window_s=30.0)
    ids = tokenizer.convert_tokens_to_ids
    assert ids("<|startoftranscript|>") == ids("<|endoftext|>") + 1
    assert ids("<|en|>") == ids("<|startoftranscript|>") + 1 and tokenizer.convert_tokens_to_ids("<|30.00|>") > 0
    config = WhisperConfig(
        vocab_size=len(tokenizer), num_mel_bins=80, d_model=32, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
        max_source_positions=1500, max_target_positions=448,
        decoder_start_token_id=ids("<|startoftranscript|>"), pad_token_id=ids("<|endoftext|>"),
        bos_token_id=ids("<|endoftext|>"), eos_token_id=ids("<|endoftext|>"),
    )
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config)
    model.generation_config = generation_config(tokenizer, max_new_tokens=440)
    checkpoint = tmp_path / "whisper-random"
    model.save_pretrained(checkpoint)
    WhisperProcessor(feature_extractor=WhisperFeatureExtractor(), tokenizer=tokenizer).save_pretrained(checkpoint)

    assert load_processor(checkpoint).feature_extractor.nb_max_frames == 3000  # Whisper's 30 s
    assert load_whisper(checkpoint).config.max_source_positions == 1500
    _prepare({**HF_SPEC, "id": str(saved_dataset)}, tmp_path, dataset=saved_dataset)
    output = tmp_path / "predictions.json"
    evaluate_model("base", "base", str(checkpoint), None, str(tmp_path / "results/data/pairs/ko-en/test.jsonl"),
                   "en-ko", str(output), batch_size=2, max_new_tokens=6, device_name="cpu")
    predictions = json.loads(output.read_text())
    assert [u["id"] for u in predictions["utterances"]] == [f"en-ko:utt-{i}" for i in range(4)]
    assert [u["reference"] for u in predictions["utterances"]] == TEXTS
    assert all(isinstance(u["hypothesis"], str) for u in predictions["utterances"])
    assert predictions["timing"]["rtfx"] > 0


# --------------------------------------------------------------------------- config, hub


def _config(**data) -> dict:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["data"].update(data)
    return config


def test_sources_override_the_default_by_pair_and_split(tmp_path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("audio,text\n")
    config = _config(sources={"ko-en": {"test": {"type": "manifest", "path": str(manifest)}}})
    assert source_for(config, "en-ko", "test")["type"] == "manifest"  # pair order is free
    assert source_for(config, "en-ko", "train") == {"type": "synthetic"}
    check_sources(config, ["de-en", "en-ja", "en-ko"], ["de-ko", "ja-ko"])


@pytest.mark.parametrize(
    ("data", "base", "message"),
    [
        ({"source": "hf"}, "local-tiny", "data.sources: de-en train has no entry"),
        ({"sources": {"ko-en": {"test": {"type": "manifest", "path": "/no/such.csv"}}}}, "local-tiny",
         "data.sources.en-ko.test.path: manifest file '/no/such.csv' does not exist"),
        ({"sources": {"ko-en": {"test": {"type": "hf", "id": "./no/such/folder", "split": "test"}}}},
         "local-tiny", "is neither a local folder nor a Hugging Face id"),
        ({"sources": {"ko-en": {"test": {"type": "hf", "id": "a/b", "split": "t", "columns": {"txt": "x"}}}}},
         "local-tiny", "'txt' is not one of"),
    ],
)
def test_source_config_errors_are_one_line(data, base, message) -> None:
    config = _config(**data)
    config["base_model"] = base
    with pytest.raises(ConfigError) as error:
        check_sources(config, ["de-en", "en-ja", "en-ko"], ["de-ko", "ja-ko"])
    assert message in str(error.value) and "\n" not in str(error.value)


def test_local_tiny_needs_languages_espeak_can_voice() -> None:
    config = _config(source="hf")
    config["languages"] = ["en", "sv"]
    config["data"]["sources"] = {"sv-en": {s: {"type": "hf", "id": "a/b", "split": s} for s in ("train", "dev", "test")}}
    with pytest.raises(ConfigError, match="local-tiny is pretrained on synthetic speech, which cannot voice 'sv'"):
        check_sources(config, ["en-sv"], [])


def test_hub_names_are_pure_functions_of_the_config() -> None:
    config = _config()
    assert hub_model_dir(config) is None
    config["base_model"] = "openai/whisper-medium"
    assert hub_model_dir(config) == "results/hub/models/openai--whisper-medium"
    assert safe_name("thetaone-ai/HiKE", "abc") == "thetaone-ai--HiKE@abc"
    hike = dataset_download({"type": "hf", "id": "thetaone-ai/HiKE", "split": "test"})
    assert download_key(hike) == "thetaone-ai--HiKE/default.test"
    files = {"type": "manifest", "repo": "byan/cs-fleurs", "path": "xtts/train/metadata.jsonl",
             "include": ["xtts/train/audio/*kor_eng*"], "filter": {"language": "kor-eng"}}
    # Metadata first: a download is the rows a source selects, so another filter or limit is
    # another download (its own audio), and the same selection is the same folder.
    other_filter = {**files, "filter": {"language": "jpn-eng"}, "limit": 5}
    assert download_key(dataset_download(files)) != download_key(dataset_download(other_filter))
    assert download_key(dataset_download(files)) == download_key(dataset_download(dict(files)))
    # Options that do not choose rows (the column of the text, the duration cap) share it.
    same_rows = {**files, "columns": {"audio": "audio", "text": "sentence"}, "max_duration_s": 20.0}
    assert download_key(dataset_download(same_rows)) == download_key(dataset_download(files))
    assert dataset_download({"type": "manifest", "path": "local.csv"}) is None


def test_hub_failure_reasons() -> None:
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        try:
            raise ConnectionRefusedError("[Errno -2] Name or service not known")
        except OSError as low:
            raise LocalEntryNotFoundError("cannot find the requested files in the local cache") from low
    except LocalEntryNotFoundError as error:
        assert hub_failure_reason(error) == "no connection to the Hugging Face hub"


def _hub_offline(monkeypatch) -> None:
    """Snakemake subprocesses inherit this: the hub is off, torch uses one thread."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.mark.workflow
def test_downloads_fail_offline_with_one_line_naming_the_model_and_data(tmp_path, monkeypatch) -> None:
    """The download rules, run for real with the hub switched off: each job stops with one
    line that names what it could not fetch and how to use a local copy instead."""
    _hub_offline(monkeypatch)
    result = run_snakemake(
        tmp_path, REPO / "configs/paper.yaml", "--cores", "2", "--keep-going",
        "results/hub/models/openai--whisper-medium", "results/hub/datasets/thetaone-ai--HiKE/default.test",
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert ("csbench download_model: cannot download openai/whisper-medium (HF_HUB_OFFLINE is set, so the hub "
            "is not contacted): set base_model to a local folder saved with save_pretrained") in output
    assert ("csbench download_dataset: cannot download dataset thetaone-ai/HiKE split 'test' "
            "(HF_HUB_OFFLINE is set") in output
    assert "set the source's id to a local folder saved with Dataset.save_to_disk" in output
    assert not (tmp_path / "results/hub/models/openai--whisper-medium").exists()


@pytest.mark.workflow
def test_paper_preset_dag_builds_offline(tmp_path, monkeypatch) -> None:
    _hub_offline(monkeypatch)
    counts = planned_jobs(tmp_path, REPO / "configs/paper.yaml")
    # 3 seen pairs, full fine-tunes: 4 combinations x 3 methods = 12 merges; 4 DG models
    # (ERM; Fish 2, Fishr 3, GGA 2 grid candidates: 8 trainings, 4 selections);
    # models = 1 + 3 + 12 + 4 = 20, one evaluation job each (5 pairs per job).
    assert counts["download_model"] == 1
    assert counts["finetune"] == 3 and counts["merge_recipe"] == 12 and counts["train_dg"] == 8
    assert counts["select_dg"] == 4
    assert counts["evaluate"] == 20
    # Real sources: train and dev (CS-FLEURS; dev read by the merge and DG grid searches) and
    # test (HiKE, CS-FLEURS read) of the seen pairs, and KO-JA. Each dev split is its own
    # metadata-first download (its rows' audio only). KO-DE is the one synthetic split.
    assert counts["prepare_pair"] == 10 and counts["download_dataset"] == 10
    assert counts["synthesize_pair"] == 1
    assert "pretrain_local_base" not in counts and "synthesize_monolingual" not in counts


@pytest.mark.workflow
def test_cs_fleurs_scale_dag_builds_offline(tmp_path, monkeypatch) -> None:
    _hub_offline(monkeypatch)
    counts = planned_jobs(tmp_path, REPO / "configs/cs-fleurs-scale.yaml")
    # 6 seen pairs: 57 combinations x 2 methods x 1 mode = 114 merges; 1 + 6 + 114 + 4 = 125
    # models, one evaluation job each (6 + 8 pairs per job).
    assert counts["merge_recipe"] == 114 and counts["evaluate"] == 125
    assert counts["prepare_pair"] == 6 * 2 + 8 and "synthesize_pair" not in counts


@pytest.mark.workflow
def test_adding_a_pair_prepares_only_the_new_split(tmp_path, clips, monkeypatch) -> None:
    """Source params are looked up by wildcard: a new pair's entry leaves old jobs alone."""
    _hub_offline(monkeypatch)
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"audio": str(c), "text": t}, ensure_ascii=False) + "\n"
                              for c, t in zip(clips, TEXTS, strict=True)), encoding="utf-8")
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["seen_pairs"], config["unseen_pairs"] = ["ko-en", "ja-en"], ["ko-ja"]
    config["data"]["sources"] = {"ko-en": {"test": {"type": "manifest", "path": str(corpus), "matrix_lang": "ko"}}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    target = "results/data/pairs/en-ko/test.jsonl"
    result = run_snakemake(tmp_path, path, "--cores", "1", target, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(read_manifest(tmp_path / target)) == 4
    config["seen_pairs"] = ["ko-en", "ja-en", "de-en"]
    config["data"]["sources"]["de-en"] = {"test": {"type": "manifest", "path": str(corpus), "matrix_lang": "de"}}
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    result = run_snakemake(tmp_path, path, "-n", target, "results/data/pairs/de-en/test.jsonl", "--quiet", "rules")
    assert result.returncode == 0, result.stderr[-3000:]
    assert job_counts(result.stdout + result.stderr) == {"prepare_pair": 1}


@pytest.mark.parametrize(
    ("text", "matrix", "clean", "tags"),
    [
        ("ich habe das **file** gelöscht", "deu-eng", "ich habe das file gelöscht",
         [["ich", "de"], ["habe", "de"], ["das", "de"], ["file", "en"], ["gelöscht", "de"]]),
        ("**Good morning** 여러분", "kor-eng", "Good morning 여러분",
         [["Good", "en"], ["morning", "en"], ["여러분", "ko"]]),
        ("私は**meeting**に行った", "jpn-eng", "私はmeetingに行った",  # unspaced: no space invented
         [["私は", "ja"], ["meeting", "en"], ["に行った", "ja"]]),
        ("no span here", "deu-eng", "no span here", [["no", "de"], ["span", "de"], ["here", "de"]]),
    ],
)
def test_cs_fleurs_markers_are_stripped_and_become_language_tags(text, matrix, clean, tags) -> None:
    from csbench.data.sources import _matrix_and_embedded, split_marked_text

    pair = {"deu-eng": "de-en", "kor-eng": "ko-en", "jpn-eng": "ja-en"}[matrix]
    assert split_marked_text(text, "**", *_matrix_and_embedded(pair, matrix)) == (clean, tags)


def test_marked_text_in_a_prepared_manifest_and_an_unclosed_span_is_one_line(tmp_path, clips) -> None:
    rows = [{"file_name": str(clips[0]), "text": "오늘 **budget** 회의", "language": "kor-eng"},
            {"file_name": str(clips[1]), "text": "내일 **meeting", "language": "kor-eng"}]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps(rows[0], ensure_ascii=False) + "\n", encoding="utf-8")
    spec = {"type": "manifest", "path": str(manifest), "embedded_markers": "**",
            "columns": {"audio": "file_name", "matrix_lang": "language"}}
    (utterance,) = _prepare(spec, tmp_path, manifest=manifest)
    assert utterance.text == "오늘 budget 회의"
    assert [list(token) for token in utterance.tokens] == [["오늘", "ko"], ["budget", "en"], ["회의", "ko"]]
    manifest.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    with pytest.raises(SourceError) as error:
        _prepare(spec, tmp_path, manifest=manifest)
    assert "unclosed '**' span" in str(error.value) and "\n" not in str(error.value)


def test_metadata_first_download_fetches_exactly_the_selected_rows_audio() -> None:
    """A `manifest` source on the hub: its download lists the audio of the rows the source
    selects (filter, then offset/limit as preparation applies them), `//` normalized."""
    from csbench.data.sources import _select, audio_files_to_fetch


    spec = {"type": "manifest", "repo": "byan/cs-fleurs", "path": "xtts/train/metadata.jsonl",
            "filter": {"language": "kor-eng"}, "limit": 3, "columns": {"audio": "file_name", "text": "text"}}
    download = dataset_download(spec)
    assert download["select"] == {"filter": {"language": "kor-eng"}, "limit": 3, "audio_column": "file_name"}
    assert download["patterns"] == []  # no include: the metadata decides
    records = [{"file_name": f"audio//kor_eng_{i}.wav", "language": "kor-eng", "text": "x"} for i in range(6)]
    records += [{"file_name": f"audio/jpn_eng_{i}.wav", "language": "jpn-eng", "text": "x"} for i in range(4)]
    files = audio_files_to_fetch(records, download)
    chosen = _select(records, {"filter": {"language": "kor-eng"}, "limit": 3}, "m")
    assert files == sorted(f"xtts/train/audio/kor_eng_{i}.wav" for i in chosen)
    assert len(files) == 3
    # include still narrows; a selection with nothing to fetch is one line.
    first = files[0].rsplit("/", 1)[1]
    assert audio_files_to_fetch(records, {**download, "patterns": [f"xtts/train/audio/{first}"]}) == [files[0]]
    with pytest.raises(SourceError, match="selects no audio file"):
        audio_files_to_fetch(records, {**download, "patterns": ["nothing/*"]})
    # Another filter is another download (its own folder), never a stale one.
    other = dataset_download({**spec, "filter": {"language": "jpn-eng"}})
    assert download_key(other) != download_key(download)


def test_romanized_japanese_stops_preparation_with_one_line(tmp_path, clips) -> None:
    rows = [{"file_name": str(clip), "text": f"kyou wa meeting desu {i}", "language": "jpn-eng"}
            for i, clip in enumerate(clips[:3])]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    spec = {"type": "manifest", "path": str(manifest), "columns": {"audio": "file_name", "matrix_lang": "language"}}
    with pytest.raises(SourceError) as error:
        _prepare(spec, tmp_path, pair="ja-en", manifest=manifest)
    assert "Japanese text looks romanized (0 of 3" in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "results/data/pairs/ja-en/test.jsonl").exists()  # nothing half-written
    rows[0]["text"] = "今日は meeting です"
    rows[1]["text"] = "明日の budget"
    manifest.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    assert len(_prepare(spec, tmp_path, pair="ja-en", manifest=manifest)) == 3  # 2 of 3 in Japanese script
