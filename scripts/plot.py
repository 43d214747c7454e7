"""Snakemake entry point: plots from summary.csv."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

import pandas as pd  # noqa: E402

from csbench.report.plots import mer_heatmap, seen_vs_unseen  # noqa: E402
from csbench.report.tables import paper_table  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    table = paper_table(pd.read_csv(smk.input.summary), "mer")
    mer_heatmap(table, smk.output.heatmap)
    seen_vs_unseen(table, smk.output.seen_vs_unseen)


run_job(snakemake, work)  # noqa: F821
