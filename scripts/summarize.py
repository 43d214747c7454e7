"""Snakemake entry point: score predictions into summary.csv, the paper tables and per_pair.md.

The rule's named outputs select what is written (`csbench.report.tables.write_summary_outputs`).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

import logging  # noqa: E402

from csbench.budget import budget_note  # noqa: E402
from csbench.config import seen_pairs, unseen_pairs  # noqa: E402
from csbench.report.answer import answer_table  # noqa: E402
from csbench.report.scoring import score_runs, summary_rows  # noqa: E402
from csbench.report.tables import with_examples_seen, write_summary_outputs  # noqa: E402
from csbench.workflow import run_job  # noqa: E402

logger = logging.getLogger("csbench.summarize")


def work(smk) -> None:
    seed, resamples, confidence = int(smk.params.seed), int(smk.params.bootstrap_resamples), float(smk.params.confidence)
    runs = score_runs(list(smk.input.predictions), manifests=list(smk.input.tests), hike=bool(smk.params.hike))
    seen = seen_pairs(smk.config)
    summary = summary_rows(runs, seen, n_resamples=resamples, seed=seed, confidence=confidence)
    summary = with_examples_seen(summary, smk.config)
    answer = answer_table(runs, seen, unseen_pairs(smk.config), resamples, seed, confidence)
    write_summary_outputs(summary, dict(smk.output.items()), resamples, budget_note(smk.config), answer)
    logger.info("scored %d prediction files into %d rows", len(smk.input.predictions), len(summary))


run_job(snakemake, work)  # noqa: F821
