"""Snakemake entry point: build and pretrain the local tiny Whisper base."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from csbench.models.loading import resolve_device  # noqa: E402
from csbench.train.pretrain import pretrain_local_base  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    pretrain_local_base(
        train_manifests=list(smk.input.train),
        dev_manifests=list(smk.input.dev),
        options=dict(smk.params.spec),
        seed=int(smk.params.seed),
        device=resolve_device(smk.params.device),
        output_dir=smk.output[0],
        checkpoint_dir=smk.params.checkpoint_dir,
    )


run_job(snakemake, work)  # noqa: F821
