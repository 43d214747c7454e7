"""The one config gate: every check on a study config that its JSON schema cannot express.

Why a module of its own, at the top of the layers: the checks need every registry — language
codes (`csbench.config`), data sources (`csbench.data.sources`), merge methods and their
hyperparameter ranges (`csbench.merge.methods`), DG methods (`csbench.dg`) — and the
Snakefile calls them once, before building the DAG, so a bad config fails in one line naming
its key instead of in the middle of a run. Imports torch (the registries do), not transformers.
"""

from __future__ import annotations

from typing import Any

from csbench.config import check_config, seen_pairs, unseen_pairs
from csbench.data.sources import check_sources
from csbench.dg import DG_METHODS, validate_dg_hyperparameters
from csbench.errors import ConfigError, DGError, MergeError
from csbench.hub import PACKAGED_MODELS, ctranslate2_sources
from csbench.merge.methods import MERGE_METHODS, validate_hyperparameters


def check_study_config(config: dict[str, Any]) -> None:
    """Raise ConfigError (one line, naming the key) on the first problem in `config`."""
    check_config(config, merge_methods=list(MERGE_METHODS))
    merge = config["merge"]
    try:
        for method in merge["methods"]:
            fixed = merge.get("hyperparameters", {}).get(method, {})
            validate_hyperparameters(method, fixed)
            for name, values in merge.get("grid", {}).get(method, {}).items():
                for value in values:
                    validate_hyperparameters(method, {**fixed, name: value})
        dg = config.get("dg", {})
        for method in dg.get("methods", []):
            fixed = dg.get("hyperparameters", {}).get(method, {})
            validate_dg_hyperparameters(method, fixed)
            for name, values in dg.get("grid", {}).get(method, {}).items():
                for value in values:
                    validate_dg_hyperparameters(method, {**fixed, name: value})
    except (MergeError, DGError) as error:
        raise ConfigError(str(error)) from None
    check_sources(config, seen_pairs(config), unseen_pairs(config))
    if config["base_model"] in PACKAGED_MODELS:
        ctranslate2_sources(config["base_model"])  # installed? (one line naming pip if not)


def method_names() -> tuple[list[str], list[str]]:
    """(merge methods, DG methods) csbench knows: the values the method wildcards may take."""
    return sorted(MERGE_METHODS), sorted(DG_METHODS)


def dg_cost(method: str, hyperparameters: dict[str, Any], batch_size: int) -> tuple[float, int]:
    """(extra utterance-steps, extra weight copies) of a DG method, for its resource requests."""
    cls = DG_METHODS[method]
    return cls.extra_work(hyperparameters, batch_size), cls.WEIGHT_COPIES
