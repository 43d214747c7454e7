"""The tiny Whisper, its tokenizer, loading, and task vectors (full and LoRA)."""

from __future__ import annotations

import copy

import pytest
import torch
from transformers.models.whisper.tokenization_whisper import LANGUAGES

from csbench.models.loading import ModelLoadError, load_processor, load_whisper
from csbench.models.task_vectors import apply_task_vector, full_task_vector, lora_task_vector


def test_tokenizer_has_all_language_tokens_in_whisper_order(tiny_base) -> None:
    tokenizer = load_processor(tiny_base).tokenizer
    sot = tokenizer.convert_tokens_to_ids("<|startoftranscript|>")
    ids = [tokenizer.convert_tokens_to_ids(f"<|{code}|>") for code in LANGUAGES]
    assert len(ids) == 100
    assert ids == list(range(sot + 1, sot + 101))
    tokenizer.set_prefix_tokens(language="ko", task="transcribe")
    encoded = tokenizer("어제 meeting 에서").input_ids
    assert encoded[:4] == [sot, sot + 1 + list(LANGUAGES).index("ko"),
                           tokenizer.convert_tokens_to_ids("<|transcribe|>"),
                           tokenizer.convert_tokens_to_ids("<|notimestamps|>")]
    assert tokenizer.decode(encoded, skip_special_tokens=True).strip() == "어제 meeting 에서"


def test_saved_tiny_model_generates_with_language_and_task(tiny_base) -> None:
    model = load_whisper(tiny_base)
    processor = load_processor(tiny_base)
    features = torch.zeros(2, 80, processor.feature_extractor.nb_max_frames)
    out = model.generate(features, language="ko", task="transcribe", max_new_tokens=5)
    assert out.shape[0] == 2


def test_unreachable_model_is_one_clear_line(tmp_path) -> None:
    with pytest.raises(ModelLoadError) as error:
        load_whisper(str(tmp_path / "no-such-model"))
    message = str(error.value)
    assert "no-such-model" in message and "\n" not in message


def test_wrong_architecture_is_one_clear_line(tmp_path) -> None:
    """A real, loadable checkpoint that is not Whisper (a tiny Wav2Vec2 CTC model)."""
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    config = Wav2Vec2Config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                            conv_dim=(8,), conv_stride=(5,), conv_kernel=(10,), vocab_size=8)
    Wav2Vec2ForCTC(config).save_pretrained(tmp_path / "wav2vec2")
    with pytest.raises(ModelLoadError) as error:
        load_whisper(tmp_path / "wav2vec2")
    message = str(error.value)
    assert "'wav2vec2' model" in message and "needs a Whisper checkpoint" in message and "\n" not in message


def test_full_task_vector_roundtrip(tiny_base) -> None:
    base = load_whisper(tiny_base)
    tuned = copy.deepcopy(base)
    with torch.no_grad():
        for param in tuned.parameters():
            param.add_(0.01)
    vector = full_task_vector(base, tuned)
    assert all(torch.allclose(delta, torch.full_like(delta, 0.01), atol=1e-6) for delta in vector.values())
    rebuilt = copy.deepcopy(base)
    apply_task_vector(rebuilt, vector)
    for (name, a), (_, b) in zip(rebuilt.named_parameters(), tuned.named_parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), name


def test_lora_task_vector_is_b_times_a_times_scaling(tiny_base, tmp_path) -> None:
    from peft import LoraConfig, get_peft_model

    base = load_whisper(tiny_base)
    peft_model = get_peft_model(copy.deepcopy(base), LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj"]))
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_()
    peft_model.save_pretrained(tmp_path / "adapter")
    vector = lora_task_vector(base, tmp_path / "adapter")
    layer = peft_model.base_model.model.model.encoder.layers[0].self_attn.q_proj
    expected = layer.lora_B["default"].weight @ layer.lora_A["default"].weight * (4 / 2)
    assert torch.allclose(vector["model.encoder.layers.0.self_attn.q_proj.weight"], expected, atol=1e-6)
    # Applying ΔW to the base gives the same outputs as the merged LoRA model.
    merged = copy.deepcopy(base)
    apply_task_vector(merged, vector)
    reference = peft_model.merge_and_unload()
    features = torch.randn(1, 80, 600)
    decoder_ids = torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        a = merged(input_features=features, decoder_input_ids=decoder_ids).logits
        b = reference(input_features=features, decoder_input_ids=decoder_ids).logits
    assert torch.allclose(a, b, atol=1e-4)


@pytest.mark.parametrize("frames_per_second", [50, 100])
def test_the_frame_rate_sets_the_feature_hop_and_the_encoder_length(speech, tmp_path, frames_per_second) -> None:
    """At 50 frames per second (the default's 20 ms hop) a 6 s window is 300 mel frames and
    150 encoder positions; saved and reloaded, the processor and model still agree, so every
    later stage (fine-tunes, merges, evaluation) decodes real speech with it."""
    from csbench.data.manifest import read_manifest
    from csbench.models.decode import transcribe
    from csbench.models.tiny import TinyWhisperSpec, build_tiny_whisper
    from csbench.models.tokenizer import train_tokenizer

    utterances = read_manifest(speech["test"])
    spec = TinyWhisperSpec(d_model=32, encoder_layers=1, decoder_layers=1, attention_heads=2, ffn_dim=64,
                           frames_per_second=frames_per_second)
    tokenizer = train_tokenizer([u.text for u in utterances] * 3, vocab_size=300, window_s=spec.window_s)
    model, processor = build_tiny_whisper(tokenizer, spec, seed=0)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    model, processor = load_whisper(tmp_path), load_processor(tmp_path)
    features = processor.feature_extractor([u.load_audio() for u in utterances], sampling_rate=16_000,
                                           return_tensors="pt").input_features
    assert features.shape[-1] == 6 * frames_per_second
    with torch.inference_mode():
        encoded = model.model.encoder(features).last_hidden_state
    assert encoded.shape[1] == model.config.max_source_positions == 3 * frames_per_second
    hypotheses, _ = transcribe(model, processor, utterances, max_new_tokens=4)
    assert set(hypotheses) == {u.id for u in utterances}
