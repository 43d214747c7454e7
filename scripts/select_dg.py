"""Snakemake entry point: choose a DG model among its trained candidates on the dev sets of
its own seen pairs (or take the only one), and publish it as the DG model."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from csbench.dg.selection import FROM_CONFIG, FROM_GRID, publish, select_candidate  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    candidates = dict(zip(smk.params.names, smk.input.candidates, strict=True))
    hyperparameters = dict(smk.params.hyperparameters)
    if len(candidates) == 1:
        (name,) = candidates
        selection = {"selection": FROM_CONFIG, "chosen": name, "hyperparameters": hyperparameters[name]}
    else:
        from csbench.models.loading import resolve_device

        dev_sets = [str(path) for path in smk.input.dev]
        name, scores = select_candidate(candidates, dev_sets, resolve_device(smk.params.device),
                                        smk.params.language, int(smk.params.max_new_tokens))
        for entry in scores:
            entry["hyperparameters"] = hyperparameters[entry["candidate"]]
        selection = {"selection": FROM_GRID, "chosen": name, "hyperparameters": hyperparameters[name],
                     "dev_sets": dev_sets, "grid": scores}
    publish(candidates[name], smk.output[0], selection)


run_job(snakemake, work)  # noqa: F821
