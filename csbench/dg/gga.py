"""GGA: Gradient-Guided Annealing, a search for weights where domain gradients agree.

Ballas & Diou, 2025, "Gradient-Guided Annealing for Domain Generalization" (CVPR);
official code: github.com/aristotelisballas/GGA (``ERM_GGA.update_simulated_annealing``).
The early steps decide which minimum training falls into; when the domains' gradients conflict,
their average leads to a domain-specific one. For a window of early steps GGA therefore
searches a small neighbourhood of the weights for a point where the per-domain gradients
agree, without giving up training loss, moves there, and only then takes the ordinary step.

One annealing step t (``anneal_start`` ≤ t < ``anneal_start + anneal_steps``), D ≥ 2 domains:

    g_d(θ) = ∇L_d(θ),  L(θ) = (1/D) Σ_d L_d(θ)
    s(θ)   = min_{d<e} cos(g_d(θ), g_e(θ))          ("min", the paper and official code)
           or mean_{d<e} cos(g_d(θ), g_e(θ))        (``agreement="mean"``)
    best ← θ, s* ← s(θ), L* ← L(θ)
    for k = 1..K (K = ``num_candidates``):
        θ_k = θ + δ_k,   δ_k ~ U(−ρ, ρ) elementwise on every trainable weight (ρ = ``noise_scale``)
        accept θ_k if  s(θ_k) > s*  and  L(θ_k) − L* ≤ τ   (τ = ``loss_tolerance``)
            then best ← θ_k, s* ← s(θ_k), L* ← L(θ_k)
    θ ← best; then the ordinary ERM-joint step: grad = ∇L(θ), applied by the loop's optimizer.

Outside the window the step is plain ERM-joint. The acceptance rule is the official code's:
a candidate must raise the best agreement so far and may not raise the loss by more than
τ = 0.1 above the last accepted point (so the loss can drift by up to τ per acceptance);
``loss_tolerance=0`` gives "never above the current loss". cos is taken over the
concatenation of all trainable parameters' gradients, with ‖·‖ floored at 1e-8 as in
``torch.nn.CosineSimilarity``.

Where this differs from the official code, and why:

* Candidates are independent draws around θ. The official loop leaves a rejected
  perturbation in the weights, so the next candidate is drawn around it (a random walk
  that restarts at θ after each acceptance); independent draws make every candidate a point
  of the neighbourhood the paper describes and let a candidate be re-created from its seed.
* Every trainable parameter is perturbed (the official code perturbs the featurizer and not
  the linear classifier: a Whisper has no such split, and a LoRA model has only its adapter).
* L is the mean of the per-domain losses (ERM-joint's objective) rather than the loss of the
  concatenated batch, which saves a forward pass per candidate.
* The window starts at ``anneal_start`` (default 0: a pretrained Whisper needs no warm-up
  before its gradients mean something; the paper starts at step 100 of 5000 on ImageNet
  features with a fresh classifier).

Randomness: δ_k is drawn from a generator seeded by (``seed``, t, k) on the parameters' device,
so a step is a pure function of the weights, the batches and (seed, t) — resumable and
deterministic; the global RNG is not touched.

Cost: each candidate costs D forward+backward passes, so an annealing step costs about
(K+1)·D + D passes against D for ERM. The defaults are the paper's (K = 250 candidates per
step over a 50-step window, ρ = 1e-6 as in the official code), i.e. ≈ 250× the ERM cost
inside the window; lower ``num_candidates`` for budgets that cannot afford it.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from csbench.dg.base import (
    DGMethod,
    derived_seed,
    domain_loss,
    erm_backward,
    gradients,
    trainable_parameters,
)
from csbench.errors import DGError

if TYPE_CHECKING:
    from csbench.train.batches import Batch

AGREEMENTS = ("min", "mean")
COSINE_EPS = 1e-8


def gradient_agreement(domain_grads: list[list[torch.Tensor]], agreement: str = "min") -> float:
    """Min (or mean) over domain pairs of the cosine similarity of their flattened gradients.

    ``domain_grads[d]`` is domain d's gradient as a list of per-parameter tensors; dot
    products are accumulated per parameter so no concatenated copy is built.
    """
    if len(domain_grads) < 2:
        raise DGError("gradient agreement needs at least two domains")
    count = len(domain_grads)
    dots = torch.zeros(count, count, dtype=torch.float64)
    for tensors in zip(*domain_grads, strict=True):
        flat = torch.stack([t.detach().reshape(-1).double() for t in tensors])
        dots += (flat @ flat.T).cpu()
    norms = dots.diagonal().sqrt().clamp(min=COSINE_EPS)
    cosines = [float(dots[d, e] / (norms[d] * norms[e])) for d, e in itertools.combinations(range(count), 2)]
    return min(cosines) if agreement == "min" else sum(cosines) / len(cosines)


class GGA(DGMethod):
    """Gradient-guided annealing during an early window, ERM-joint otherwise."""

    name: ClassVar[str] = "gga"
    HYPERPARAMETERS: ClassVar[dict[str, Any]] = {
        "anneal_start": 0, "anneal_steps": 50, "num_candidates": 250, "noise_scale": 1e-6,
        "loss_tolerance": 0.1, "agreement": "min", "seed": 0,
    }
    LOWER_BOUNDS: ClassVar[dict[str, tuple[float, bool]]] = {
        "anneal_start": (0, False), "anneal_steps": (0, False), "num_candidates": (1, False),
        "noise_scale": (0, True), "loss_tolerance": (0, False),
    }
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"agreement": AGREEMENTS}

    @classmethod
    def extra_work(cls, hyperparameters: dict[str, Any], batch_size: int) -> float:
        """Every candidate of every annealing step is scored with per-domain gradients, about one
        training step each (measured on the default: 3 candidates × 10 steps added 10.7 s to
        ERM-joint's 120 steps of ~0.3 s)."""
        resolved = {**cls.HYPERPARAMETERS, **hyperparameters}
        return float(resolved["num_candidates"] * resolved["anneal_steps"] * batch_size)
    #: What the last annealing step found: accepted candidate (-1: stayed at θ), s*, L*.
    #: Replaced (never mutated) by each annealing step, so the shared empty default is safe.
    last_search: dict[str, Any] = {}

    anneal_start: int
    anneal_steps: int
    num_candidates: int
    noise_scale: float
    loss_tolerance: float
    agreement: str
    seed: int

    def annealing(self, step_index: int) -> bool:
        """Whether step ``step_index`` is inside the annealing window."""
        return self.anneal_start <= step_index < self.anneal_start + self.anneal_steps

    def perturbation(
        self, params: list[torch.nn.Parameter], step_index: int, candidate: int
    ) -> list[torch.Tensor]:
        """δ_k ~ U(−ρ, ρ) for every parameter, a pure function of (seed, step, candidate)."""
        seed = derived_seed("gga", self.seed, step_index, candidate)
        generators: dict[torch.device, torch.Generator] = {}
        noise = []
        for param in params:
            if param.device not in generators:
                generators[param.device] = torch.Generator(device=param.device).manual_seed(seed)
            uniform = torch.rand(
                param.shape, generator=generators[param.device], device=param.device, dtype=param.dtype
            )
            noise.append((uniform * 2 - 1) * self.noise_scale)
        return noise

    def evaluate(
        self, model: torch.nn.Module, params: list[torch.nn.Parameter], batches: list[Batch]
    ) -> tuple[float, float]:
        """(s(θ), L(θ)) at the current weights: gradient agreement and mean domain loss."""
        domain_grads, losses = [], []
        for batch in batches:
            loss = domain_loss(model, batch, self.autocast_dtype)
            domain_grads.append(gradients(loss, params))
            losses.append(float(loss.detach()))
        return gradient_agreement(domain_grads, self.agreement), sum(losses) / len(losses)

    def search(self, model: torch.nn.Module, batches: list[Batch], step_index: int) -> None:
        """Move the trainable weights to the accepted candidate (or leave them at θ)."""
        params = trainable_parameters(model)
        origin = [param.detach().clone() for param in params]
        best_agreement, best_loss = self.evaluate(model, params, batches)
        start_agreement, start_loss = best_agreement, best_loss
        best = -1
        for candidate in range(self.num_candidates):
            noise = self.perturbation(params, step_index, candidate)
            with torch.no_grad():
                for param, theta, delta in zip(params, origin, noise, strict=True):
                    param.copy_(theta + delta)
            agreement, loss = self.evaluate(model, params, batches)
            if agreement > best_agreement and loss - best_loss <= self.loss_tolerance:
                best, best_agreement, best_loss = candidate, agreement, loss
        chosen = self.perturbation(params, step_index, best) if best >= 0 else None
        with torch.no_grad():
            for index, (param, theta) in enumerate(zip(params, origin, strict=True)):
                param.copy_(theta if chosen is None else theta + chosen[index])
        self.last_search = {
            "step": step_index,
            "accepted": best,
            "agreement_before": start_agreement,
            "agreement": best_agreement,
            "loss_before": start_loss,
            "loss": best_loss,
        }

    def step(self, model: torch.nn.Module, batches: list[Batch], step_index: int) -> torch.Tensor:
        if self.annealing(step_index):
            if len(batches) < 2:
                raise DGError(
                    f"GGA compares gradients between domains and needs >= 2 per step, got {len(batches)}"
                )
            self.search(model, batches, step_index)
        return erm_backward(model, batches, self.autocast_dtype)
