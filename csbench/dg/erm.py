"""ERM-joint: empirical risk minimization on the union of the seen pairs (the DG baseline).

Vapnik, 1998, "Statistical Learning Theory"; as a domain-generalization baseline see
Gulrajani & Lopez-Paz, 2021, "In Search of Lost Domain Generalization" (ICLR), where plain ERM
over all training domains is the reference every DG method must beat.

With domain-balanced batching (one batch per domain d = 1..D per step) the objective is

    L(θ) = (1/D) Σ_d L_d(θ),    L_d = the model's loss on domain d's batch,

and the gradient handed to the optimizer is ∇L = (1/D) Σ_d ∇L_d. Averaging the per-domain
losses (rather than pooling all tokens) weighs every pair equally whatever its utterance
lengths, which is what "domains" mean for Fish, Fishr and GGA too, so the baseline and the DG
methods optimize the same risk. No hyperparameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch

from csbench.dg.base import DGMethod, erm_backward

if TYPE_CHECKING:
    from csbench.train.batches import Batch


class ERMJoint(DGMethod):
    """Mean of the per-domain losses, backpropagated — the loop's own ``erm_step``.

    Reusing :func:`csbench.train.loop.erm_step` guarantees that ERM-joint is the very objective
    of a per-pair fine-tune, only over more domains.
    """

    name: ClassVar[str] = "erm"
    HYPERPARAMETERS: ClassVar[dict[str, Any]] = {}

    def step(self, model: torch.nn.Module, batches: list[Batch], step_index: int) -> torch.Tensor:
        return erm_backward(model, batches, self.autocast_dtype)
