"""Snakemake entry point: score predictions into summary.csv and the paper table."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from csbench.config import seen_pairs  # noqa: E402
from csbench.io import atomic_path, write_text  # noqa: E402
from csbench.report.tables import paper_table, score_predictions, to_latex, to_markdown  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    summary = score_predictions(list(smk.input.predictions), seen_pairs(smk.config))
    with atomic_path(smk.output.summary) as temporary:
        summary.to_csv(temporary, index=False, float_format="%.6f")
    table = paper_table(summary, "mer")
    write_text(smk.output.markdown, to_markdown(table, "mer"))
    write_text(smk.output.latex, to_latex(table, "mer"))


run_job(snakemake, work)  # noqa: F821
