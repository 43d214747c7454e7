"""Snakemake entry point: prepare one split of a pair from a real source (hf or manifest)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from csbench.data.sources import prepare_source  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    pair, split = smk.wildcards.pair_split.split("/")
    prepare_source(
        dict(smk.params.source),
        pair=pair,
        split=split,
        manifest_path=smk.output.manifest,
        audio_dir=smk.output.audio,
        dataset=smk.input.get("dataset"),
        manifest=smk.input.get("manifest"),
    )


run_job(snakemake, work)  # noqa: F821
