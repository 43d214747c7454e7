"""Throughput of the synthetic speech generator in one process.

Every study starts by synthesizing its data (by default 400 utterances per seen pair, 40 per
unseen pair and 260 per language), one Snakemake job per split and each job single-threaded,
so utterances per second of a single process decides how long the data stage takes. This
synthesizes one monolingual and one code-switched split into a temporary folder with the
pipeline's own `synthesize_split` and prints utterances per wall-second and seconds of audio
per wall-second as one table.

Usage (from the repository root)::

    python -m benchmarks.synthesis_throughput --utterances 300 --pair en-ko
    python benchmarks/synthesis_throughput.py --pair ja-ko --profile 15

The monolingual language defaults to the pair's matrix language (the non-English one for a
pair with English). One-time costs (loading libespeak-ng and the lexicon) are timed apart.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=300, help="utterances per run (default 300)")
    parser.add_argument("--pair", default="en-ko", help="code-switched pair (default en-ko)")
    parser.add_argument(
        "--mono", default=None, help="monolingual language (default: the pair's matrix language)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-duration-s", type=float, default=6.0, help="length limit, as in config.yaml (default 6)"
    )
    parser.add_argument("--noise-snr-db", type=float, default=None, help="add noise at this SNR")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also print the N functions with the most own time in the code-switched run",
    )
    args = parser.parse_args(argv)
    if args.utterances < 1:
        parser.error("--utterances must be >= 1")
    return args


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far (a leak per utterance would show here)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def main(argv: list[str] | None = None) -> None:
    """Warm the engine and lexicon, time both splits, print the table."""
    if __package__ in (None, ""):
        # Run as a file (python benchmarks/synthesis_throughput.py): make csbench importable.
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    # The progress bar would interleave with the table; the numbers are printed here anyway.
    os.environ.setdefault("TQDM_DISABLE", "1")
    from csbench.data.espeak import get_engine
    from csbench.data.lexicon import load_lexicon
    from csbench.data.synthesize import SynthesisSettings, synthesize_split
    from csbench.languages import canonical_pair, pair_languages

    args = parse_args(argv)
    pair = canonical_pair(args.pair)
    first, second = pair_languages(pair)
    mono = args.mono or (second if first == "en" else first)
    settings = SynthesisSettings(max_duration_s=args.max_duration_s, noise_snr_db=args.noise_snr_db)

    start = time.perf_counter()
    engine = get_engine()
    load_lexicon()
    print(
        f"one-time setup (libespeak-ng at {engine.sample_rate} Hz, lexicon): "
        f"{time.perf_counter() - start:.2f} s; {os.cpu_count()} CPUs visible, one process"
    )
    print(
        f"{'domain':<10} {'utts':>6} {'wall s':>8} {'utts/s':>8} {'audio s':>9} {'audio s/s':>10} "
        f"{'peak MB':>8}"
    )
    profiler = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory(prefix="csbench-synth-") as folder:
        for domain in (f"mono-{mono}", pair):
            manifest = Path(folder) / domain / "train.jsonl"
            sizes = {"train": args.utterances}
            if profiler is not None and domain == pair:
                profiler.enable()
            start = time.perf_counter()
            count = synthesize_split(
                domain,
                "train",
                sizes,
                manifest,
                manifest.with_name("train_audio"),
                args.seed,
                levels=("mono",) if domain.startswith("mono-") else ("word", "phrase", "sentence"),
                settings=settings,
            )
            seconds = time.perf_counter() - start
            if profiler is not None:
                profiler.disable()
            lines = manifest.read_text(encoding="utf-8").splitlines()
            audio = sum(json.loads(line)["duration"] for line in lines)
            print(
                f"{domain:<10} {count:>6} {seconds:>8.2f} {count / seconds:>8.1f} "
                f"{audio:>9.1f} {audio / seconds:>10.1f} {_peak_rss_mb():>8.0f}",
                flush=True,
            )
    if profiler is not None:
        print(f"\nprofile of {pair} (own time):")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(args.profile)


if __name__ == "__main__":
    main()
