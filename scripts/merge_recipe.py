"""Snakemake entry point: write the recipe of one merge (materialized at evaluation)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from csbench.io import write_json  # noqa: E402
from csbench.languages import combination_members  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    hyperparameters = dict(smk.params.hyperparameters)
    if smk.wildcards.method.startswith("dare"):
        hyperparameters.setdefault("seed", int(smk.params.seed))
    write_json(
        smk.output[0],
        {
            "method": smk.wildcards.method,
            "mode": smk.wildcards.mode,
            "members": combination_members(smk.wildcards.combo),
            "member_checkpoints": [str(path) for path in smk.input.members],
            "hyperparameters": hyperparameters,
            "selection": "config",
        },
    )


run_job(snakemake, work)  # noqa: F821
