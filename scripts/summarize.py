"""Snakemake entry point: score predictions into summary.csv, the paper tables and per_pair.md.

The rule's named outputs select what is written (see WRITERS), so a table is added by
declaring it in rules/report.smk and giving it a writer here.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

import logging  # noqa: E402

from csbench.config import seen_pairs  # noqa: E402
from csbench.io import atomic_path, write_text  # noqa: E402
from csbench.report.tables import (  # noqa: E402
    confidence_tables,
    paper_table,
    per_pair_markdown,
    score_predictions,
    to_latex,
    to_markdown,
    write_parquet,
)
from csbench.workflow import run_job  # noqa: E402

logger = logging.getLogger("csbench.summarize")


def work(smk) -> None:
    params = dict(smk.params.items())
    n_resamples = int(params.get("bootstrap_resamples", 1000))
    summary = score_predictions(
        list(smk.input.predictions),
        seen_pairs(smk.config),
        manifests=list(smk.input.tests),
        seed=int(params.get("seed", smk.config["seed"])),
        n_resamples=n_resamples,
        confidence=float(params.get("confidence", 0.95)),
    )
    table = paper_table(summary, "mer")
    intervals = confidence_tables(summary, table, "mer")
    texts = {
        "markdown": lambda: to_markdown(table, "mer"),
        "latex": lambda: to_latex(table, "mer"),
        "markdown_ci": lambda: to_markdown(table, "mer", ci=intervals),
        "latex_ci": lambda: to_latex(table, "mer", ci=intervals),
        "per_pair": lambda: per_pair_markdown(summary, n_resamples),
    }
    for name, path in smk.output.items():
        if name == "summary":
            with atomic_path(path) as temporary:
                summary.to_csv(temporary, index=False, float_format="%.6f")
        elif name == "parquet":
            write_parquet(summary, path)
        elif name in texts:
            write_text(path, texts[name]())
        else:
            raise ValueError(f"rule summarize declares output {name!r}, which scripts/summarize.py cannot write")
    logger.info("scored %d prediction files into %d rows", len(smk.input.predictions), len(summary))


run_job(snakemake, work)  # noqa: F821
