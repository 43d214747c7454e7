"""Fish: inter-domain gradient matching by a first-order meta-update.

Shi, Seely, Torr, Siddharth, Hannun, Usunier & Synnaeve, 2022, "Gradient Matching for Domain
Generalization" (ICLR). Fish maximizes the inner product between domain gradients without
computing second derivatives: a few sequential SGD steps on the domains, one after another,
move the weights in a direction whose expansion contains the gradient inner products.

Algorithm implemented (Algorithm 1 of the paper, "Fish"), for one optimizer step with one
batch per domain d = 1..D:

    θ̃₀ = θ
    for i = 1..D, over the domains in a random order π:
        θ̃ᵢ = θ̃ᵢ₋₁ − α ∇L_{π(i)}(θ̃ᵢ₋₁)             (inner SGD, α = ``inner_lr``)
    θ ← θ + ε (θ̃_D − θ)                           (meta-update, ε = ``meta_lr``)

The meta-update runs through the shared loop: :meth:`Fish.step` sets ``param.grad = θ − θ̃_D``
and :meth:`Fish.optimizer_factory` returns ``torch.optim.SGD(params, lr=ε)``, so the loop's
``optimizer.step()`` computes θ − ε(θ − θ̃_D) = θ + ε(θ̃_D − θ). Consequences of going through
the loop, on purpose and documented here:

* the loop's linear warm-up/decay schedule multiplies ε: the meta step at step t is
  ε·s(t) with s the schedule factor (0 → 1 over warm-up, then linearly → 0), the same
  shape every other trainer gets;
* the loop clips the "gradient" θ − θ̃_D to ``max_grad_norm``, which bounds the meta step
  to ε·max_grad_norm (it is inactive while ‖θ − θ̃_D‖ is below the clip, the normal case);
* the config's ``learning_rate`` and ``weight_decay`` are not used by Fish (ε and α are).

Only trainable parameters (requires_grad) move, so a peft LoRA model works: the inner loop
updates the adapter only. Instead of deep-copying the model for the inner loop, the trainable
parameters are snapshot, updated in place and restored — the same arithmetic without a second
copy of the frozen base weights in memory.

Hyperparameters:

* ``meta_lr`` (ε, default 0.5 — DomainBed's Fish default),
* ``inner_lr`` (α, default 1e-3: plain SGD, so tune it per model; it is unrelated to the
  AdamW learning rate of the config),
* ``seed`` (default 0): the domain order π of step t is a seeded shuffle of (seed, t).

The returned loss (for logging) is the mean of the D inner-loop losses, each measured at the
inner weights it was computed at.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from csbench.dg.base import DGMethod, domain_loss, gradients, trainable_parameters

if TYPE_CHECKING:
    from csbench.train.batches import Batch


class Fish(DGMethod):
    """Sequential inner SGD over the domains, then θ ← θ + ε(θ̃ − θ) via the loop's SGD."""

    name: ClassVar[str] = "fish"
    HYPERPARAMETERS: ClassVar[dict[str, Any]] = {"meta_lr": 0.5, "inner_lr": 1e-3, "seed": 0}
    WEIGHT_COPIES: ClassVar[int] = 1  # the inner-loop model θ̃
    LOWER_BOUNDS: ClassVar[dict[str, tuple[float, bool]]] = {"meta_lr": (0, True), "inner_lr": (0, True)}

    meta_lr: float
    inner_lr: float
    seed: int

    def domain_order(self, num_domains: int, step_index: int) -> list[int]:
        """The inner-loop order π for a step: a shuffle seeded by (seed, step) only."""
        order = list(range(num_domains))
        random.Random(f"fish/{self.seed}/{step_index}").shuffle(order)
        return order

    def inner_loop(self, model: torch.nn.Module, batches: list[Batch], step_index: int) -> list[torch.Tensor]:
        """Run the inner SGD steps IN PLACE on the trainable parameters; return the losses.

        Afterwards the trainable parameters hold θ̃_D; the caller restores θ.
        """
        params = trainable_parameters(model)
        losses = []
        for index in self.domain_order(len(batches), step_index):
            loss = domain_loss(model, batches[index])
            grads = gradients(loss, params)
            with torch.no_grad():
                for param, grad in zip(params, grads, strict=True):
                    param.sub_(grad, alpha=self.inner_lr)
            losses.append(loss.detach())
        return losses

    def step(self, model: torch.nn.Module, batches: list[Batch], step_index: int) -> torch.Tensor:
        params = trainable_parameters(model)
        start = [param.detach().clone() for param in params]
        try:
            losses = self.inner_loop(model, batches, step_index)
            with torch.no_grad():
                for param, theta in zip(params, start, strict=True):
                    param.grad = theta - param.detach()  # θ − θ̃: SGD(lr=ε) gives θ + ε(θ̃ − θ)
        finally:
            with torch.no_grad():  # back to θ, also when the inner loop failed
                for param, theta in zip(params, start, strict=True):
                    param.copy_(theta)
        return torch.stack(losses).mean()

    def optimizer_factory(
        self, params: list[torch.nn.Parameter], learning_rate: float
    ) -> torch.optim.Optimizer:
        """Plain SGD at lr = ε; the config's learning rate does not apply to Fish."""
        return torch.optim.SGD(params, lr=self.meta_lr)
