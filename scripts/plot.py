"""Snakemake entry point: every figure of the report from summary.csv and answer.csv, as PNG and PDF.

The rule's named outputs select the figures (`csbench.report.plots.draw_figures`).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

import pandas as pd  # noqa: E402

from csbench.report.plots import draw_figures  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    draw_figures(pd.read_csv(smk.input.summary), dict(smk.output.items()), pd.read_csv(smk.input.answer))


run_job(snakemake, work)  # noqa: F821
