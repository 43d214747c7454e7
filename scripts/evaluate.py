"""Snakemake entry point: decode one pair's test set with one model; store raw output."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from csbench.evaluate.run import evaluate_model  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    evaluate_model(
        model_id=smk.wildcards.model,
        kind=smk.params.kind,
        base_model=smk.params.base_model,
        checkpoint=smk.params.model_file or None,
        test_manifest=smk.input.test,
        pair=smk.wildcards.pair,
        output=smk.output[0],
        language_mode=smk.params.language,
        batch_size=int(smk.params.batch_size),
        max_new_tokens=int(smk.params.max_new_tokens),
        device_name=smk.params.device,
    )


run_job(snakemake, work)  # noqa: F821
