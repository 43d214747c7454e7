"""Snakemake entry point: fail if an unseen pair's test set leaks into training/dev data."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from csbench.data.leakage import check_leakage  # noqa: E402
from csbench.io import write_text  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    compared = check_leakage(smk.input.test, list(smk.input.training))
    write_text(smk.output[0], f"no leakage: {compared} training/dev utterances compared\n")


run_job(snakemake, work)  # noqa: F821
