"""Shared fixtures: tiny real Whisper models and synthetic speech, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def speech(tmp_path_factory) -> dict[str, Path]:
    """Real eSpeak speech: a code-switched en-ko test split and a Korean monolingual split."""
    from csbench.data.synthesize import synthesize_split

    root = tmp_path_factory.mktemp("speech")
    synthesize_split("en-ko", "train", {"test": 4, "dev": 2, "train": 12}, root / "en-ko/train.jsonl",
                     root / "en-ko/train_audio", seed=0)
    synthesize_split("en-ko", "test", {"test": 4}, root / "en-ko/test.jsonl", root / "en-ko/test_audio",
                     seed=0)
    return {"train": root / "en-ko/train.jsonl", "test": root / "en-ko/test.jsonl"}


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory, speech) -> Path:
    """A real (untrained) tiny Whisper with a locally trained tokenizer, saved like a hub model."""
    from csbench.data.manifest import read_manifest
    from csbench.models.tiny import TinyWhisperSpec, build_tiny_whisper
    from csbench.models.tokenizer import train_tokenizer

    texts = [u.text for u in read_manifest(speech["train"])]
    spec = TinyWhisperSpec(d_model=32, encoder_layers=1, decoder_layers=1, attention_heads=2, ffn_dim=64)
    tokenizer = train_tokenizer(texts * 3, vocab_size=300, window_s=spec.window_s)
    model, processor = build_tiny_whisper(tokenizer, spec, seed=0)
    path = tmp_path_factory.mktemp("base") / "tiny"
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def micro_study(tmp_path_factory) -> Path:
    """Run the whole micro study (tests/configs/micro.yaml) once; tests read its outputs."""
    from workflow_utils import REPO, run_snakemake

    workdir = tmp_path_factory.mktemp("micro")
    result = run_snakemake(workdir, REPO / "tests/configs/micro.yaml", "--cores", "2")
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir
