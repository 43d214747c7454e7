"""Snakemake entry point: every figure of the report from summary.csv, as PNG and PDF.

The rule's named outputs select the figures: ``NAME`` and ``NAME_pdf`` are the PNG and
PDF of figure NAME (see FIGURES), drawn once and saved to both.
"""

import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

import pandas as pd  # noqa: E402

from csbench.report.plots import mer_heatmap, merge_scaling, per_language_bars, seen_vs_unseen  # noqa: E402
from csbench.report.tables import paper_table  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    summary = pd.read_csv(smk.input.summary)
    table = paper_table(summary, "mer")
    figures = {
        "heatmap": lambda *paths: mer_heatmap(table, *paths),
        "seen_vs_unseen": lambda *paths: seen_vs_unseen(table, *paths),
        "merge_scaling": lambda *paths: merge_scaling(table, *paths),
        "per_language": lambda *paths: per_language_bars(summary, *paths),
    }
    paths = defaultdict(list)
    for name, path in smk.output.items():
        paths[name.removesuffix("_pdf")].append(path)
    for name, outputs in paths.items():
        if name not in figures:
            raise ValueError(f"rule plot declares output {name!r}, which scripts/plot.py cannot draw")
        figures[name](*outputs)


run_job(snakemake, work)  # noqa: F821
