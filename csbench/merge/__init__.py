"""Model merging over task vectors (ΔW = θ_finetuned - θ_base).

:mod:`.methods`: the methods (pure functions) and their records; :mod:`.analysis`: layer
restriction and per-layer statistics; :mod:`.recipe`: a merge as data (write, read,
materialize); :mod:`.selection`: hyperparameters chosen on the merged pairs' dev sets.
"""

from csbench.merge.analysis import layer_group, layer_statistics, restrict_to
from csbench.merge.methods import (
    MERGE_METHODS,
    METHOD_HYPERPARAMETERS,
    METHODS,
    MergeMethod,
    TaskVector,
    merge_task_vectors,
    parameter_seed,
    validate_hyperparameters,
)

__all__ = [
    "MERGE_METHODS",
    "METHODS",
    "METHOD_HYPERPARAMETERS",
    "MergeMethod",
    "TaskVector",
    "layer_group",
    "layer_statistics",
    "merge_task_vectors",
    "parameter_seed",
    "restrict_to",
    "validate_hyperparameters",
]
