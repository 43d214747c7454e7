"""Snakemake entry point: write the recipe of one merge, its hyperparameters chosen on the
dev sets of the merged pairs when a grid is configured (materialized at evaluation)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from csbench.merge.methods import METHODS  # noqa: E402
from csbench.merge.recipe import FROM_GRID, MergeRecipe  # noqa: E402
from csbench.study import ModelId  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    model = ModelId.merge(smk.wildcards.method, smk.wildcards.mode, smk.wildcards.combo, smk.wildcards.replicate)
    fixed = dict(smk.params.hyperparameters)
    if METHODS[model.method].seeded:
        fixed.setdefault("seed", int(smk.params.seed))
    grid = {name: list(values) for name, values in dict(smk.params.grid).items()}
    members = [str(path) for path in smk.input.members]
    recipe = MergeRecipe(model.method, model.mode, list(model.members), members, fixed)
    if grid:
        from csbench.merge.selection import select_hyperparameters
        from csbench.models.loading import resolve_device

        best, scores = select_hyperparameters(
            model.method, fixed, grid, smk.params.base_model, members, list(smk.input.dev),
            resolve_device(smk.params.device), smk.params.language, int(smk.params.max_new_tokens),
        )
        dev_sets = [str(path) for path in smk.input.dev]
        recipe = MergeRecipe(model.method, model.mode, list(model.members), members, best, FROM_GRID, dev_sets, scores)
    recipe.write(smk.output[0])


run_job(snakemake, work)  # noqa: F821
