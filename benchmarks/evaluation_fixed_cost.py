"""What one evaluation job pays besides decoding, and what one job per model saves.

Side by side in one run, on a finished study's own models and test sets:
- per (model, pair): one fresh Python process per pair (what the workflow did before: one
  Snakemake job per model x pair), each importing torch + transformers, materializing the
  model (a merge re-merges its members) and decoding one test set;
- per model: one process that materializes once and decodes every pair (today's layout).
Each child reports its import, materialization and decoding seconds; the parent prints
them and the wall-clock ratio. Run after `make run`:

    .venv/bin/python benchmarks/evaluation_fixed_cost.py [--results results] [--model merge/ties/full/de-en+en-ja+en-ko]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def child(args: argparse.Namespace) -> None:
    """One evaluation process: time imports, materialization and decoding; print JSON."""
    started = time.perf_counter()
    sys.path.insert(0, str(REPO))
    import torch

    from csbench.data.manifest import read_manifest
    from csbench.evaluate.materialize import materialize
    from csbench.models.decode import transcribe

    torch.set_num_threads(1)
    imported = time.perf_counter()
    kind = args.model.split("/")[0]
    model, processor = materialize(kind, args.base, args.checkpoint or None, torch.device("cpu"))
    materialized = time.perf_counter()
    for manifest in args.tests:
        transcribe(model, processor, read_manifest(manifest), "matrix", 32, 96, "cpu")
    decoded = time.perf_counter()
    print(json.dumps({"import_s": imported - started, "materialize_s": materialized - imported,
                      "decode_s": decoded - materialized}))


def run_child(model: str, base: str, checkpoint: str, tests: list[str]) -> tuple[dict, float]:
    started = time.perf_counter()
    output = subprocess.run(
        [sys.executable, __file__, "--child", "--model", model, "--base", base, "--checkpoint", checkpoint,
         "--tests", *tests], capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1]), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--results", default="results")
    parser.add_argument("--model", default="merge/ties/full/de-en+en-ja+en-ko")
    parser.add_argument("--base", default="")
    parser.add_argument("--checkpoint", default="")
    parser.add_argument("--tests", nargs="*", default=[])
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    results = Path(args.results)
    base = str(results / "base/local-tiny")
    kind, *rest = args.model.split("/")
    checkpoint = {"merge": str(results / "merge" / "/".join(rest)) + ".json", "base": ""}.get(
        kind, str(results / args.model))
    tests = sorted(str(path) for path in (results / "data/pairs").glob("*/test.jsonl"))
    per_pair = [run_child(args.model, base, checkpoint, [test]) for test in tests]
    per_model, per_model_wall = run_child(args.model, base, checkpoint, tests)
    per_pair_wall = sum(wall for _, wall in per_pair)
    utterances = sum(1 for test in tests for _ in open(test, encoding="utf-8"))
    print(f"model {args.model}; {len(tests)} pairs, {utterances} test utterances; 1 thread per process")
    print("| layout | processes | wall s | of which import s | materialize s | decode s | process start + teardown s |")
    print("|---|---|---|---|---|---|---|")
    for name, reports, wall in (("one job per (model, pair)", [r for r, _ in per_pair], per_pair_wall),
                                ("one job per model", [per_model], per_model_wall)):
        parts = {key: sum(report[key] for report in reports) for key in ("import_s", "materialize_s", "decode_s")}
        rest_s = wall - sum(parts.values())
        print(f"| {name} | {len(reports)} | {wall:.1f} | {parts['import_s']:.1f} | {parts['materialize_s']:.1f} | "
              f"{parts['decode_s']:.1f} | {rest_s:.1f} |")
    fixed = (per_pair_wall - sum(r["decode_s"] for r, _ in per_pair)) / len(per_pair)
    print(f"fixed cost of one evaluation process: {fixed:.1f} s; per-model layout is "
          f"{per_pair_wall / per_model_wall:.2f}x faster in wall time for this model")


if __name__ == "__main__":
    main()
