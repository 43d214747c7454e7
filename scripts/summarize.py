"""Snakemake entry point: score predictions into summary.csv, the paper tables and per_pair.md.

The rule's named outputs select what is written (`csbench.report.tables.write_summary_outputs`).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

import logging  # noqa: E402

from csbench.config import seen_pairs  # noqa: E402
from csbench.report.tables import score_predictions, write_summary_outputs  # noqa: E402
from csbench.workflow import run_job  # noqa: E402

logger = logging.getLogger("csbench.summarize")


def work(smk) -> None:
    summary = score_predictions(
        list(smk.input.predictions),
        seen_pairs(smk.config),
        manifests=list(smk.input.tests),
        seed=int(smk.params.seed),
        n_resamples=int(smk.params.bootstrap_resamples),
        confidence=float(smk.params.confidence),
    )
    write_summary_outputs(summary, dict(smk.output.items()), int(smk.params.bootstrap_resamples))
    logger.info("scored %d prediction files into %d rows", len(smk.input.predictions), len(summary))


run_job(snakemake, work)  # noqa: F821
