"""Snakemake entry point: per-layer norms and cosines of the seen-pair task vectors."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

import pandas as pd  # noqa: E402

from csbench.io import atomic_path  # noqa: E402
from csbench.merge import layer_statistics  # noqa: E402
from csbench.models.loading import load_whisper  # noqa: E402
from csbench.models.task_vectors import load_task_vector  # noqa: E402
from csbench.report.layers import plot_layer_statistics  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    base = load_whisper(smk.params.base_model)
    vectors = {Path(path).name: load_task_vector(base, path) for path in smk.input.members}
    table = pd.DataFrame(layer_statistics(vectors))
    with atomic_path(smk.output.table) as temporary:
        table.to_csv(temporary, index=False, float_format="%.6g")
    plot_layer_statistics(table, smk.output.plot, f"Seen-pair task vectors per layer ({smk.wildcards.mode})")


run_job(snakemake, work)  # noqa: F821
