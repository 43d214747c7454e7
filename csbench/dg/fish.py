"""Fish: inter-domain gradient matching by a first-order meta-update.

Shi, Seely, Torr, Siddharth, Hannun, Usunier & Synnaeve, 2022, "Gradient Matching for Domain
Generalization" (ICLR). Fish maximizes the inner product between domain gradients without
computing second derivatives: a few sequential SGD steps on the domains, one after another,
move the weights in a direction whose expansion contains the gradient inner products.

Algorithm implemented (Algorithm 1 of the paper, "Fish"), for one optimizer step with one
batch per domain d = 1..D:

    θ̃₀ = θ
    for i = 1..D, over the domains in a random order π:
        θ̃ᵢ = inner optimizer step on ∇L_{π(i)}(θ̃ᵢ₋₁)   (learning rate α = ``inner_lr``)
    θ ← θ + ε (θ̃_D − θ)                           (meta-update, ε = ``meta_lr``)

The inner optimizer is Adam by default, as in DomainBed's Fish (the reference implementation
the paper's DomainBed results come from: its inner Adam runs at the algorithm's learning rate
and keeps its moments from one meta step to the next); ``inner_optimizer: sgd`` is the
paper's Algorithm 1 with plain SGD, where α must be orders of magnitude larger to move the
weights at all.

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
* ``inner_lr`` (α, default 3e-4, an Adam learning rate like the config's; with
  ``inner_optimizer: sgd`` tune it per model),
* ``inner_optimizer`` (``adam``, default, or ``sgd``); Adam's moments are checkpointed with the
  run (:meth:`Fish.state_dict`), so a resumed run repeats an uninterrupted one,
* ``seed`` (default 0): the domain order π of step t is a seeded shuffle of (seed, t).

The returned loss (for logging) is the mean of the D inner-loop losses, each measured at the
inner weights it was computed at.
"""

from __future__ import annotations

import copy
import random
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from csbench.dg.base import DGMethod, domain_loss, gradients, trainable_parameters

if TYPE_CHECKING:
    from csbench.train.batches import Batch


class Fish(DGMethod):
    """Sequential inner optimizer steps (Adam or SGD) over the domains, then θ ← θ + ε(θ̃ − θ)
    via the loop's SGD."""

    name: ClassVar[str] = "fish"
    HYPERPARAMETERS: ClassVar[dict[str, Any]] = {
        "meta_lr": 0.5, "inner_lr": 3e-4, "inner_optimizer": "adam", "seed": 0,
    }
    WEIGHT_COPIES: ClassVar[int] = 3  # the snapshot θ and the inner Adam's two moments
    LOWER_BOUNDS: ClassVar[dict[str, tuple[float, bool]]] = {"meta_lr": (0, True), "inner_lr": (0, True)}
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"inner_optimizer": ("adam", "sgd")}

    meta_lr: float
    inner_lr: float
    inner_optimizer: str
    seed: int

    def __init__(self, **hyperparameters: Any) -> None:
        super().__init__(**hyperparameters)
        self._inner: torch.optim.Optimizer | None = None
        self._pending_state: dict[str, Any] | None = None

    def inner_optimizer_for(self, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
        """The inner optimizer over the trainable parameters, kept with its state across steps
        (made anew, with fresh moments, if it is handed other parameters: another model)."""
        bound = self._inner is not None and [id(p) for p in self._inner.param_groups[0]["params"]] == [
            id(p) for p in params
        ]
        if not bound:
            if self.inner_optimizer == "adam":
                self._inner = torch.optim.Adam(params, lr=self.inner_lr)
            else:
                self._inner = torch.optim.SGD(params, lr=self.inner_lr)
            if self._pending_state is not None:
                self._inner.load_state_dict(self._pending_state)
                self._pending_state = None
        return self._inner

    def domain_order(self, num_domains: int, step_index: int) -> list[int]:
        """The inner-loop order π for a step: a shuffle seeded by (seed, step) only."""
        order = list(range(num_domains))
        random.Random(f"fish/{self.seed}/{step_index}").shuffle(order)
        return order

    def inner_loop(self, model: torch.nn.Module, batches: list[Batch], step_index: int) -> list[torch.Tensor]:
        """Run the inner optimizer steps IN PLACE on the trainable parameters; return the losses.

        Afterwards the trainable parameters hold θ̃_D; the caller restores θ.
        """
        params = trainable_parameters(model)
        inner = self.inner_optimizer_for(params)
        losses = []
        for index in self.domain_order(len(batches), step_index):
            loss = domain_loss(model, batches[index], self.autocast_dtype)
            grads = gradients(loss, params)
            for param, grad in zip(params, grads, strict=True):
                param.grad = grad
            inner.step()
            losses.append(loss.detach())
        for param in params:
            param.grad = None
        return losses

    def state_dict(self) -> dict[str, Any]:
        """The inner optimizer's state (Adam's moments), needed to resume exactly."""
        if self._inner is not None:  # a copy: Adam updates its moments in place
            return {"inner": copy.deepcopy(self._inner.state_dict())}
        return {"inner": self._pending_state} if self._pending_state is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        inner = state.get("inner")
        if inner is None:
            return
        if self._inner is not None:
            self._inner.load_state_dict(inner)
        else:
            self._pending_state = inner

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
