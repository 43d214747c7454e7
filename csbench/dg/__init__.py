"""Domain-generalization trainers: one model on the union of the seen pairs, domains = pairs.

Each method is a small class (see :class:`~csbench.dg.base.DGMethod`) whose ``step`` sets the
gradients for one domain-balanced step; the shared loop of :mod:`csbench.train.loop` does
the rest. :data:`DG_METHODS` and :data:`DG_HYPERPARAMETERS` are the registry that config
validation reads; :func:`make_dg_method` builds a method from a config entry and
:func:`~csbench.dg.base.bind_to_loop` plugs it into :func:`csbench.train.loop.train`.

Importing this package imports torch but not transformers or peft (the training loop is
imported when a step first runs), so config validation stays quick.
"""

from __future__ import annotations

from typing import Any

from csbench.dg.base import DGMethod, bind_to_loop, trainable_parameters
from csbench.dg.erm import ERMJoint
from csbench.dg.fish import Fish
from csbench.dg.fishr import Fishr
from csbench.dg.gga import GGA
from csbench.errors import DGError

#: method name → class.
DG_METHODS: dict[str, type[DGMethod]] = {cls.name: cls for cls in (ERMJoint, Fish, Fishr, GGA)}
#: method name → {hyperparameter: default}.
DG_HYPERPARAMETERS: dict[str, dict[str, Any]] = {
    name: dict(cls.HYPERPARAMETERS) for name, cls in DG_METHODS.items()
}


def make_dg_method(name: str, **hyperparameters: Any) -> DGMethod:
    """Build DG method ``name``; unknown names, unknown or invalid hyperparameters → ValueError."""
    if name not in DG_METHODS:
        raise DGError(f"unknown DG method {name!r}; available: {', '.join(sorted(DG_METHODS))}")
    return DG_METHODS[name](**hyperparameters)


def validate_dg_hyperparameters(name: str, hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """Check a config entry without training; return its hyperparameters with defaults filled in."""
    return make_dg_method(name, **hyperparameters).hyperparameters


__all__ = [
    "DG_HYPERPARAMETERS",
    "DG_METHODS",
    "DGMethod",
    "ERMJoint",
    "Fish",
    "Fishr",
    "GGA",
    "bind_to_loop",
    "make_dg_method",
    "trainable_parameters",
    "validate_dg_hyperparameters",
]
