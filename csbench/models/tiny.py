"""Build the offline default base model: a tiny Whisper with a locally trained tokenizer.

Everything a real checkpoint ships is built here (config, weights, tokenizer, feature
extractor, generation config) and saved with `save_pretrained`, so every later stage loads
the tiny base with exactly the code that loads `openai/whisper-medium`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import (
    GenerationConfig,
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
    WhisperProcessor,
    WhisperTokenizer,
)
from transformers.models.whisper.tokenization_whisper import LANGUAGES

N_MELS = 80
SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class TinyWhisperSpec:
    """Size of the local base. Defaults: ~2.8 M parameters, a 6-second window."""

    d_model: int = 192
    encoder_layers: int = 2
    decoder_layers: int = 2
    attention_heads: int = 4
    ffn_dim: int = 768
    window_s: float = 6.0
    max_target_positions: int = 128
    #: Mel frames per second (Whisper: 100, a 10 ms hop); the encoder's stride-2 convolution
    #: halves it. 50 (a 20 ms hop, 25 encoder positions per second, the frame rate of many
    #: CTC/transducer models) halves the encoder's work per utterance.
    frames_per_second: int = 100


def generation_config(tokenizer: WhisperTokenizer, max_new_tokens: int) -> GenerationConfig:
    """The generation config `WhisperForConditionalGeneration.generate` needs for language/task."""
    ids = tokenizer.convert_tokens_to_ids
    eot = ids("<|endoftext|>")
    return GenerationConfig(
        decoder_start_token_id=ids("<|startoftranscript|>"),
        eos_token_id=eot,
        pad_token_id=eot,
        bos_token_id=eot,
        is_multilingual=True,
        lang_to_id={f"<|{code}|>": ids(f"<|{code}|>") for code in LANGUAGES},
        task_to_id={"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")},
        no_timestamps_token_id=ids("<|notimestamps|>"),
        prev_sot_token_id=ids("<|startofprev|>"),
        begin_suppress_tokens=[eot],
        suppress_tokens=[],
        max_length=max_new_tokens + 4,
        max_initial_timestamp_index=50,
    )


def build_tiny_whisper(
    tokenizer: WhisperTokenizer, spec: TinyWhisperSpec, seed: int
) -> tuple[WhisperForConditionalGeneration, WhisperProcessor]:
    """A randomly initialized tiny Whisper and its processor (deterministic for `seed`)."""
    ids = tokenizer.convert_tokens_to_ids
    eot = ids("<|endoftext|>")
    config = WhisperConfig(
        vocab_size=len(tokenizer),
        num_mel_bins=N_MELS,
        d_model=spec.d_model,
        encoder_layers=spec.encoder_layers,
        decoder_layers=spec.decoder_layers,
        encoder_attention_heads=spec.attention_heads,
        decoder_attention_heads=spec.attention_heads,
        encoder_ffn_dim=spec.ffn_dim,
        decoder_ffn_dim=spec.ffn_dim,
        max_source_positions=int(spec.window_s * spec.frames_per_second) // 2,
        max_target_positions=spec.max_target_positions,
        decoder_start_token_id=ids("<|startoftranscript|>"),
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        begin_suppress_tokens=[eot],
        suppress_tokens=[],
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config)
    model.generation_config = generation_config(tokenizer, spec.max_target_positions - 8)
    feature_extractor = WhisperFeatureExtractor(
        feature_size=N_MELS, sampling_rate=SAMPLE_RATE, hop_length=SAMPLE_RATE // spec.frames_per_second,
        chunk_length=int(spec.window_s), n_fft=400,
    )
    return model, WhisperProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer)
