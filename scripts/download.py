"""Snakemake entry point: download a hub model or dataset (local rules only: needs internet)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    from csbench.hub import hub_cache_dir

    # The download cache is read from the config, not params: moving it must not rerun the study.
    cache_dir = hub_cache_dir(smk.config)
    if smk.rule == "download_model":
        from csbench.models.loading import download_model

        download_model(smk.params.model_id, smk.output[0], cache_dir=cache_dir)
    elif smk.params.download["kind"] == "files":  # metadata first, then exactly its audio
        from csbench.data.sources import download_manifest_files

        download_manifest_files(dict(smk.params.download), smk.output[0], cache_dir=cache_dir)
    else:
        from csbench.hub import download_dataset

        download_dataset(dict(smk.params.download), smk.output[0], cache_dir=cache_dir)


run_job(snakemake, work)  # noqa: F821
