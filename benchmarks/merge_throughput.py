"""Throughput of every merge method on Whisper-sized random task vectors.

Merging runs on CPU inside the pipeline, once per (method, hyperparameters, member set), so
its cost decides how large a sweep is affordable. This builds random task vectors with the
parameter names and shapes of a Whisper checkpoint (Whisper-small: d_model 768, 12 encoder +
12 decoder layers, FFN 3072, vocabulary 51865, about 242M parameters; ``proj_out`` is tied to
``embed_tokens`` and not counted twice), merges them with each method once, and prints seconds
and parameters per second as one table.

Usage (from the repository root)::

    python -m benchmarks.merge_throughput --members 3 --size small --scale 0.25
    python benchmarks/merge_throughput.py --methods ties,tsv_merge --repeats 3

``--scale`` multiplies every width (d_model, FFN, vocabulary, positions), so the parameter
count shrinks roughly with its square; layer counts stay those of the chosen size so the number
of parameters (the per-parameter overhead) stays realistic.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

#: Whisper sizes (openai/whisper-*): d_model, encoder layers, decoder layers, FFN, vocabulary.
WHISPER_SIZES: dict[str, dict[str, int]] = {
    "tiny": {"d_model": 384, "encoder_layers": 4, "decoder_layers": 4, "ffn": 1536},
    "base": {"d_model": 512, "encoder_layers": 6, "decoder_layers": 6, "ffn": 2048},
    "small": {"d_model": 768, "encoder_layers": 12, "decoder_layers": 12, "ffn": 3072},
    "medium": {"d_model": 1024, "encoder_layers": 24, "decoder_layers": 24, "ffn": 4096},
    "large": {"d_model": 1280, "encoder_layers": 32, "decoder_layers": 32, "ffn": 5120},
}
VOCAB_SIZE = 51865
NUM_MEL_BINS = 80
MAX_SOURCE_POSITIONS = 1500
MAX_TARGET_POSITIONS = 448


def whisper_shapes(size: str, scale: float = 1.0) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes of a Hugging Face WhisperForConditionalGeneration.

    Widths are multiplied by ``scale`` (at least 1). The names follow transformers' Whisper so
    the benchmark exercises the same layer grouping and parameter count as a real checkpoint.
    """
    cfg = WHISPER_SIZES[size]

    def scaled(x: int) -> int:
        return max(1, round(x * scale))

    d, ffn = scaled(cfg["d_model"]), scaled(cfg["ffn"])
    shapes: dict[str, tuple[int, ...]] = {}

    def attention(prefix: str) -> None:
        # Whisper's k_proj has no bias.
        shapes[f"{prefix}.k_proj.weight"] = (d, d)
        for proj in ("v_proj", "q_proj", "out_proj"):
            shapes[f"{prefix}.{proj}.weight"] = (d, d)
            shapes[f"{prefix}.{proj}.bias"] = (d,)

    def norm(prefix: str) -> None:
        shapes[f"{prefix}.weight"] = (d,)
        shapes[f"{prefix}.bias"] = (d,)

    def feed_forward(prefix: str) -> None:
        shapes[f"{prefix}.fc1.weight"] = (ffn, d)
        shapes[f"{prefix}.fc1.bias"] = (ffn,)
        shapes[f"{prefix}.fc2.weight"] = (d, ffn)
        shapes[f"{prefix}.fc2.bias"] = (d,)

    shapes["model.encoder.conv1.weight"] = (d, NUM_MEL_BINS, 3)
    shapes["model.encoder.conv1.bias"] = (d,)
    shapes["model.encoder.conv2.weight"] = (d, d, 3)
    shapes["model.encoder.conv2.bias"] = (d,)
    shapes["model.encoder.embed_positions.weight"] = (scaled(MAX_SOURCE_POSITIONS), d)
    for i in range(cfg["encoder_layers"]):
        layer = f"model.encoder.layers.{i}"
        attention(f"{layer}.self_attn")
        norm(f"{layer}.self_attn_layer_norm")
        feed_forward(layer)
        norm(f"{layer}.final_layer_norm")
    norm("model.encoder.layer_norm")
    shapes["model.decoder.embed_tokens.weight"] = (scaled(VOCAB_SIZE), d)
    shapes["model.decoder.embed_positions.weight"] = (scaled(MAX_TARGET_POSITIONS), d)
    for i in range(cfg["decoder_layers"]):
        layer = f"model.decoder.layers.{i}"
        attention(f"{layer}.self_attn")
        norm(f"{layer}.self_attn_layer_norm")
        attention(f"{layer}.encoder_attn")
        norm(f"{layer}.encoder_attn_layer_norm")
        feed_forward(layer)
        norm(f"{layer}.final_layer_norm")
    norm("model.decoder.layer_norm")
    return shapes


def random_task_vectors(
    shapes: dict[str, tuple[int, ...]], members: int, seed: int
) -> list[dict[str, torch.Tensor]]:
    """Independent Gaussian task vectors with fine-tuning-like magnitudes (std 1e-3)."""
    generator = torch.Generator().manual_seed(seed)
    return [
        {name: torch.randn(shape, generator=generator) * 1e-3 for name, shape in shapes.items()}
        for _ in range(members)
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3, help="task vectors merged (default 3)")
    parser.add_argument("--size", choices=sorted(WHISPER_SIZES), default="small")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="width multiplier for a quicker run (default 1)"
    )
    parser.add_argument(
        "--methods", default="all", help="comma-separated method names, or 'all' (default)"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="runs per method; the fastest is reported, damping noise from shared CPUs",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if min(args.members, args.threads, args.repeats) < 1 or args.scale <= 0:
        parser.error("--members, --threads and --repeats must be >= 1 and --scale > 0")
    return args


def main(argv: list[str] | None = None) -> None:
    """Build the task vectors once, time each method, print the table.

    Parameters per second counts the parameters of ONE model (not members x parameters), so
    it reads as "how fast a merged checkpoint is produced".
    """
    if __package__ in (None, ""):
        # Run as a file (python benchmarks/merge_throughput.py): make csbench importable.
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from csbench.merge import MERGE_METHODS, merge_task_vectors

    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    methods = sorted(MERGE_METHODS) if args.methods == "all" else args.methods.split(",")
    if args.members < 2:
        methods = [m for m in methods if m != "model_stock"]  # needs two members

    # Import peft now so its import time (transformers, seconds) is not billed to a method.
    import peft.utils.merge_utils  # noqa: F401

    shapes = whisper_shapes(args.size, args.scale)
    n_params = sum(torch.Size(s).numel() for s in shapes.values())
    start = time.perf_counter()
    task_vectors = random_task_vectors(shapes, args.members, args.seed)
    build_s = time.perf_counter() - start
    print(
        f"whisper-{args.size} scale={args.scale:g}: {n_params:,} parameters in "
        f"{len(shapes)} tensors x {args.members} members; torch threads={args.threads}; "
        f"built in {build_s:.1f} s"
    )
    print(f"{'method':<16} {'seconds':>9} {'Mparams/s':>10}")
    for method in methods:
        seconds = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            merged = merge_task_vectors(method, task_vectors)
            seconds = min(seconds, time.perf_counter() - start)
            del merged
        print(f"{method:<16} {seconds:>9.2f} {n_params / seconds / 1e6:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
