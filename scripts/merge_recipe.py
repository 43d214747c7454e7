"""Snakemake entry point: write the recipe of one merge, its hyperparameters chosen on the
dev sets of the merged pairs when a grid is configured (materialized at evaluation)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from csbench.io import write_json  # noqa: E402
from csbench.languages import combination_members  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    method = smk.wildcards.method
    fixed = dict(smk.params.hyperparameters)
    if method.startswith("dare"):
        fixed.setdefault("seed", int(smk.params.seed))
    grid = {name: list(values) for name, values in dict(smk.params.grid).items()}
    members = [str(path) for path in smk.input.members]
    recipe = {
        "method": method,
        "mode": smk.wildcards.mode,
        "members": combination_members(smk.wildcards.combo),
        "member_checkpoints": members,
        "hyperparameters": fixed,
        "selection": "config",
    }
    if grid:
        from csbench.merge.selection import select_hyperparameters
        from csbench.models.loading import resolve_device

        best, scores = select_hyperparameters(
            method, fixed, grid, smk.params.base_model, members, list(smk.input.dev),
            resolve_device(smk.params.device), smk.params.language,
        )
        recipe.update(
            hyperparameters=best,
            selection="grid search on the dev sets of the merged seen pairs (lowest mixed error rate)",
            dev_sets=[str(path) for path in smk.input.dev],
            grid=scores,
        )
    write_json(smk.output[0], recipe)


run_job(snakemake, work)  # noqa: F821
