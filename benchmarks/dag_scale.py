"""DAG build time and job counts as the number of seen pairs grows (k = 3…7 by default).

With k seen pairs the merges alone number (2^k − k − 1) × methods × modes; this prints how
long `snakemake -n` takes to build the whole DAG and how many jobs it holds, side by side
for every k in one run, on a config with 8 languages and every other pair unseen.

    python benchmarks/dag_scale.py            # k = 3..7, the paper's methods, full fine-tuning
    python benchmarks/dag_scale.py --k 3 5    # a subset
    python benchmarks/dag_scale.py --k 3 --methods weight_average ties --modes full lora
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from workflow_utils import job_counts, run_snakemake  # noqa: E402

LANGUAGES = ["en", "ko", "ja", "de", "zh", "es", "fr", "hi"]


def study_config(seen_count: int, methods: list[str] | None = None, modes: list[str] | None = None) -> dict:
    """The default config widened to 8 languages with `seen_count` seen pairs (all with English
    first, then others) and every remaining pair unseen; optionally other merge methods/modes."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    if methods is not None:
        config["merge"]["methods"] = methods
        config["merge"]["grid"] = {m: v for m, v in config["merge"].get("grid", {}).items() if m in methods}
    if modes is not None:
        config["finetune"]["modes"] = modes
    pairs = ["-".join(sorted(p)) for p in itertools.combinations(LANGUAGES, 2)]
    english = [p for p in pairs if "en" in p]
    others = [p for p in pairs if "en" not in p]
    seen = (english + others)[:seen_count]
    config.update(languages=LANGUAGES, seen_pairs=seen, unseen_pairs=[p for p in pairs if p not in seen])
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[3, 4, 5, 6, 7])
    # The reference study's method set by default: config.yaml's nine methods x two modes
    # reach ~61,000 jobs at k = 7 (pass --methods/--modes to measure any other set).
    parser.add_argument("--methods", nargs="+", default=["task_arithmetic", "ties", "dare_ties"],
                        help="merge methods (default: the paper's three)")
    parser.add_argument("--modes", nargs="+", default=["full"], help="fine-tuning modes (default: full)")
    args = parser.parse_args()
    print(f"{'k':>2} {'unseen':>6} {'merges':>7} {'evaluations':>11} {'jobs':>7} {'DAG build s':>11}")
    for k in args.k:
        with tempfile.TemporaryDirectory() as workdir:
            path = Path(workdir) / "config.yaml"
            config = study_config(k, args.methods, args.modes)
            path.write_text(yaml.safe_dump(config))
            started = time.perf_counter()
            result = run_snakemake(Path(workdir), path, "-n", "--quiet", "rules", timeout=900)
            elapsed = time.perf_counter() - started
            if result.returncode != 0:
                raise SystemExit(result.stderr[-2000:])
            counts = job_counts(result.stdout + result.stderr)
            print(f"{k:>2} {len(config['unseen_pairs']):>6} {counts.get('merge_recipe', 0):>7} "
                  f"{counts.get('evaluate', 0):>11} {sum(counts.values()):>7} {elapsed:>11.1f}")


if __name__ == "__main__":
    main()
