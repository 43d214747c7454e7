"""Model merging over task vectors (ΔW = θ_finetuned - θ_base); see :mod:`.methods`."""

from csbench.merge.methods import (
    MERGE_METHODS,
    METHOD_HYPERPARAMETERS,
    TaskVector,
    layer_group,
    layer_statistics,
    merge_task_vectors,
    parameter_seed,
    restrict_to,
    validate_hyperparameters,
)

__all__ = [
    "MERGE_METHODS",
    "METHOD_HYPERPARAMETERS",
    "TaskVector",
    "layer_group",
    "layer_statistics",
    "merge_task_vectors",
    "parameter_seed",
    "restrict_to",
    "validate_hyperparameters",
]
