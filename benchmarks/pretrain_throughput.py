"""Training throughput of the tiny base per batch size, side by side in one run.

Why: the base's recipe (issue 12) trades steps against batch size. On a 2-core CPU a tiny
model's step is partly fixed per-op overhead, so a larger batch may cost less than
proportionally more per step; this measures utterances/s at each batch size on the real
monolingual training data, with the workflow's kernels (deterministic mode, 2 threads unless
--threads, the config's mixed precision), so a recipe change can be priced before it is
trained. Features are cached and every batch shape met once before timing (as in a long
run). The step is the loop's own `erm_step` and its default optimizer's step, without the loop's
gradient clipping, checkpoints and progress lines. Run after the data exists (e.g.
`make run`, or `snakemake results/data/mono/{en,de,ja,ko}/train.jsonl`):

    .venv/bin/python benchmarks/pretrain_throughput.py [--batch-sizes 16 32 64] [--steps 20]

Measured 3 December 2026 (2 cores, nothing else running, AMX + AVX512-BF16): batch 16 at
6.33 steps/s with SDPA attention, the foreach AdamW and the deterministic mode's NaN fill of
new tensors; 10.72 steps/s with what the workflow now uses (eager attention on CPU for a
short encoder, fused AdamW, no fill: `csbench.train.loop`, `csbench.workflow.set_torch_kernels`);
batch 32 gave 1.13x batch 16's utterances/s. The 2.5-3.3 steps/s measured on 2 December, against ~6 in
earlier base jobs, came from that day's slower machine (bf16 matmul 355 GFLOP/s against
1,293 today, 1024x1024 on 2 threads): the benchmark and the workflow's loop agreed that day.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per batch size")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch
    import yaml

    from csbench.data.manifest import read_manifest
    from csbench.models.tiny import build_tiny_whisper
    from csbench.models.tokenizer import train_tokenizer
    from csbench.study import mono_manifest
    from csbench.train.batches import FeatureStore, make_batch, matrix_language
    from csbench.train.loop import autocast_dtype, default_optimizer, erm_step, use_cpu_training_attention
    from csbench.train.pretrain import local_base_spec
    from csbench.workflow import environment_line, set_torch_kernels

    set_torch_kernels(args.threads)  # as in every workflow job
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    options = config["local_base"]
    utterances = [u for lang in config["languages"] for u in read_manifest(REPO / mono_manifest(lang, "train"))]
    spec = local_base_spec(options)
    # the base's own tokenizer (trained on every training text): it sets the label lengths
    tokenizer = train_tokenizer([u.text for u in utterances], options["vocab_size"], spec.window_s)
    needed = max(args.batch_sizes) * args.steps
    utterances = utterances[::max(1, len(utterances) // needed)][:needed]
    dtype = autocast_dtype(torch.device("cpu"), options["mixed_precision"])
    print(environment_line())
    print(f"{len(utterances)} utterances, {args.threads} threads, autocast {dtype}")
    _, processor = build_tiny_whisper(tokenizer, spec, 0)  # the same processor for every model below
    store = FeatureStore(processor, utterances)
    store.features(utterances)  # cache every feature before timing
    rows = []
    for batch_size in args.batch_sizes:
        model, _ = build_tiny_whisper(tokenizer, spec, 0)
        use_cpu_training_attention(model, torch.device("cpu"))
        optimizer = default_optimizer(list(model.parameters()), 1e-4)
        batches = [
            make_batch(store, utterances[i * batch_size:(i + 1) * batch_size], matrix_language)
            for i in range(args.steps)
        ]
        # The untimed first pass meets every label width once: CPU kernels are set up per
        # input shape, and a long run sees each width many times.
        for step, batch in enumerate(batches + batches):
            if step == len(batches):
                started = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            erm_step(model, [batch], step, autocast_dtype=dtype)
            optimizer.step()
        seconds = time.perf_counter() - started
        rows.append((batch_size, args.steps / seconds, args.steps * batch_size / seconds))
    reference = rows[0][2]
    print(f"| batch | steps/s | utterances/s | utterances/s vs batch {rows[0][0]} |")
    print("|---|---|---|---|")
    for batch_size, steps_per_s, utterances_per_s in rows:
        print(f"| {batch_size} | {steps_per_s:.2f} | {utterances_per_s:.1f} | {utterances_per_s / reference:.2f}x |")


if __name__ == "__main__":
    main()
