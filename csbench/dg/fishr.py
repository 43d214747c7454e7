"""Fishr: match the per-domain variances of per-sample gradients.

Rame, Dancette & Cord, 2022, "Fishr: Invariant Gradient Variances for Out-of-Distribution
Generalization" (ICML). Domains whose gradient *variances* (a diagonal approximation of the
Fisher information / Hessian) differ pull the model towards domain-specific solutions; Fishr
adds a penalty that makes these variances equal across the training domains.

Equations implemented, for one step with one batch per domain d = 1..D, n_d utterances each:

    ℓ_i(θ)  = token-mean cross-entropy of utterance i (the HF Whisper loss of that utterance alone)
    g_i     = ∇_φ ℓ_i(θ)                     per-sample gradient w.r.t. the penalized subset φ
    v_d     = (1/n_d) Σ_{i∈d} (g_i − ḡ_d)²    elementwise, population variance (ḡ_d: mean over d)
    m_d^t   = γ m_d^{t−1} + (1−γ) v_d         EMA over steps, m_d^0 = 0, m stored detached
    v̂_d     = m_d^t / (1−γ)                   the authors' "1/(1−ema)" correction (below)
    v̄       = (1/D) Σ_d v̂_d
    penalty = (1/D) Σ_d ‖v̂_d − v̄‖²₂ / P      P = entries of φ: the authors' code's mean
    L(θ)    = (1/D) Σ_d L_d(θ) + λ_t · penalty,  λ_t = 0 for t < ``penalty_anneal_steps``, else λ

L_d is the model's loss on domain d's batch (so the first term is exactly ERM-joint). The
EMA and its correction follow the authors' DomainBed code (``MovingAverage(ema,
oneminusema_correction=True)``): the gradient reaching v_d has coefficient 1 whatever γ is,
and on the first step v̂_d = v_d; in the steady state v̂_d ≈ v_d/(1−γ), so λ absorbs a factor
1/(1−γ)² = 400 at γ = 0.95. The paper writes the squared norm; the authors' DomainBed code
averages the squared difference over entries (``l2_between_dicts``: ``.pow(2).mean()``), and
that is what is implemented, so λ is on the scale of their search (λ = 10^U(1, 4)): a summed
penalty would put the same λ on a scale P times larger, P the penalized entries. Their
optimizer reset at the end of the annealing is not reproduced (the shared loop owns the
optimizer).

What the penalty covers. φ is the set of ``nn.Linear`` weights/biases whose names match the
regex ``penalty_params`` (default: ``fc2.weight`` of the LAST decoder layer of Whisper). The
paper penalizes the classifier only, because per-sample gradients there are cheap and it
works as well as the whole network; Whisper's classifier ``proj_out`` is tied to the token
embedding and has vocabulary × d_model entries (51865 × 1024 for medium) per utterance, too
large, so the last decoder FFN output projection — the last layer before the final layer norm
and ``proj_out``, d_model × ffn entries — stands in for it. Names are matched after removing
peft's ``base_model.model.`` prefix and ``.base_layer`` infix, so the same regex selects the
(frozen) base ``fc2`` of a LoRA model; the penalty still depends on, and trains, the adapter
through the activations. When the regex has a capturing group of digits, only the matches
with the largest captured number are kept: that is how the default selects the last layer.

Per-sample gradients are exact and differentiable. For a linear layer y = W h + b applied
position-wise, the gradient of ℓ_i is g_i = Σ_t δ_{i,t} h_{i,t}ᵀ (bias: Σ_t δ_{i,t}) with
δ_{i,t} = ∂ℓ_i/∂y_{i,t}. One forward pass records h and y with hooks; because utterances in
a batch do not interact (no batch norm in Whisper; attention is within an utterance),
δ = ∂(Σ_i ℓ_i)/∂y, obtained with ``torch.autograd.grad(..., create_graph=True)``. The whole
penalty therefore backpropagates exactly, second-order terms included, at the cost of one
forward and a double backward — the same construction BackPACK's BatchGrad uses in the
authors' code. Before λ switches on, the variances are computed without a graph (only to feed
the EMA, as the authors do from step 0).

Hyperparameters: ``penalty_weight`` λ (default 1000, inside the authors' range; on the
tiny offline Whisper the penalty measured ~10⁻⁷ of the NLL, so config.yaml searches
10⁶–10⁷ instead), ``penalty_anneal_steps`` (default 100:
λ = 0 before; the paper's 1500 of 5000 steps, scaled to csbench's 300-step fine-tunes), ``ema``
γ (default 0.95, as in the paper), ``penalty_params`` (the regex above).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
import torch.nn.functional as F

from csbench.dg.base import DGMethod, forward_precision, require
from csbench.errors import DGError

if TYPE_CHECKING:
    from csbench.train.batches import Batch

#: fc2.weight of Whisper's decoder layers; the group keeps only the last layer.
DEFAULT_PENALTY_PARAMS = r"model\.decoder\.layers\.(\d+)\.fc2\.weight$"
IGNORE_INDEX = -100


def normalized_name(name: str) -> str:
    """A parameter name without peft's wrapping, so one regex fits plain and LoRA models."""
    return name.removeprefix("base_model.model.").replace(".base_layer.", ".")


@dataclass(frozen=True)
class PenaltyTarget:
    """One penalized tensor: the ``kind`` ("weight" or "bias") of a linear ``module``."""

    name: str
    module: torch.nn.Linear
    kind: str


def penalty_targets(model: torch.nn.Module, pattern: str) -> list[PenaltyTarget]:
    """The linear weights/biases whose normalized names match ``pattern`` (see module doc)."""
    regex = re.compile(pattern)
    matches: list[tuple[re.Match, PenaltyTarget]] = []
    for module_name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        for kind in ("weight", "bias"):
            if getattr(module, kind) is None:
                continue
            name = normalized_name(f"{module_name}.{kind}")
            match = regex.search(name)
            if match:
                matches.append((match, PenaltyTarget(name, module, kind)))
    if not matches:
        raise DGError(
            f"Fishr: penalty_params {pattern!r} matches no nn.Linear weight or bias of the model"
        )
    if regex.groups and all((m.group(1) or "").isdigit() for m, _ in matches):
        last = max(int(m.group(1)) for m, _ in matches)
        matches = [(m, t) for m, t in matches if int(m.group(1)) == last]
    return sorted((t for _, t in matches), key=lambda t: t.name)


def per_sample_losses(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """ℓ_i: each utterance's token-mean cross-entropy, ignoring -100 (HF's loss, per row)."""
    batch = labels.shape[0]
    flat_labels = labels.reshape(batch, -1)
    flat_logits = logits.reshape(batch, flat_labels.shape[1], -1).float()
    token = F.cross_entropy(
        flat_logits.transpose(1, 2), flat_labels, ignore_index=IGNORE_INDEX, reduction="none"
    )
    counts = (flat_labels != IGNORE_INDEX).sum(dim=1).clamp(min=1)
    return token.sum(dim=1) / counts


def per_sample_gradients(
    model: torch.nn.Module, batch: Batch, targets: list[PenaltyTarget], create_graph: bool,
    dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(the model's loss on ``batch``, {target name: per-sample gradients, shape (B, *param)}).

    With ``create_graph`` the gradients are differentiable w.r.t. the model; without, they are
    detached (cheaper) and only the returned loss carries a graph.
    """
    modules = {id(t.module): t.module for t in targets}
    captured: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {key: [] for key in modules}

    def hook_for(key: int):
        def hook(module, inputs, output):
            captured[key].append((inputs[0], output))

        return hook

    handles = [module.register_forward_hook(hook_for(key)) for key, module in modules.items()]
    try:
        with forward_precision(batch, dtype):
            output = model(input_features=batch.input_features, labels=batch.labels)
    finally:
        for handle in handles:
            handle.remove()
    size = batch.labels.shape[0]
    losses = per_sample_losses(output.logits.float(), batch.labels)
    calls = [(key, h, y) for key in modules for h, y in captured[key]]
    if not calls:
        raise DGError("Fishr: the penalized layers were not called in the forward pass")
    deltas = torch.autograd.grad(
        losses.sum(),
        [y for _, _, y in calls],
        create_graph=create_graph,
        retain_graph=True,
        allow_unused=True,
    )
    weight_grads: dict[int, torch.Tensor] = {}
    bias_grads: dict[int, torch.Tensor] = {}
    for (key, h, y), delta in zip(calls, deltas, strict=True):
        if delta is None:
            delta = torch.zeros_like(y)
        if h.shape[0] != size:
            raise DGError(
                f"Fishr: a penalized layer's input has batch dimension {h.shape[0]}, expected {size}"
            )
        if not create_graph:
            h, delta = h.detach(), delta.detach()
        h, delta = h.float(), delta.float()  # per-sample gradients in fp32 under bf16 autocast
        h = h.reshape(size, -1, h.shape[-1])
        delta = delta.reshape(size, -1, delta.shape[-1])
        weight = torch.einsum("bto,bti->boi", delta, h)
        bias = delta.sum(dim=1)
        weight_grads[key] = weight_grads[key] + weight if key in weight_grads else weight
        bias_grads[key] = bias_grads[key] + bias if key in bias_grads else bias
    grads = {t.name: (weight_grads if t.kind == "weight" else bias_grads)[id(t.module)] for t in targets}
    return output.loss.float(), grads


def gradient_variance(grads: dict[str, torch.Tensor]) -> torch.Tensor:
    """v_d: elementwise population variance over samples, flattened over targets in name order."""
    parts = []
    for name in sorted(grads):
        g = grads[name].reshape(grads[name].shape[0], -1).float()
        parts.append((g - g.mean(dim=0, keepdim=True)).pow(2).mean(dim=0))
    return torch.cat(parts)


def fishr_penalty(variances: list[torch.Tensor]) -> torch.Tensor:
    """(1/D) Σ_d mean over entries of (v_d − v̄)², v̄ the mean over domains; 0 for one domain."""
    stacked = torch.stack(variances)
    return (stacked - stacked.mean(dim=0, keepdim=True)).pow(2).mean(dim=1).mean()


class Fishr(DGMethod):
    """ERM-joint plus λ times the spread of per-domain gradient variances (EMA-smoothed)."""

    name: ClassVar[str] = "fishr"
    HYPERPARAMETERS: ClassVar[dict[str, Any]] = {
        "penalty_weight": 1000.0, "penalty_anneal_steps": 100, "ema": 0.95, "penalty_params": DEFAULT_PENALTY_PARAMS,
    }
    LOWER_BOUNDS: ClassVar[dict[str, tuple[float, bool]]] = {"penalty_weight": (0, False), "penalty_anneal_steps": (0, False)}

    penalty_weight: float
    penalty_anneal_steps: int
    ema: float
    penalty_params: str

    def __init__(self, **hyperparameters: Any) -> None:
        super().__init__(**hyperparameters)
        require(0 <= self.ema < 1, self.name, f"ema must be in [0, 1), got {self.ema}")
        try:
            re.compile(self.penalty_params)
        except re.error as error:
            raise DGError(f"DG method 'fishr': penalty_params is not a regex: {error}") from None
        self._ema: dict[str, torch.Tensor] = {}
        #: Penalty and mean loss of the last step, for logging and tests.
        self.last_penalty = float("nan")
        self.last_nll = float("nan")

    def weight_at(self, step_index: int) -> float:
        """λ_t: 0 during the annealing steps, then ``penalty_weight``."""
        return self.penalty_weight if step_index >= self.penalty_anneal_steps else 0.0

    def smoothed(self, domain: str, variance: torch.Tensor) -> torch.Tensor:
        """v̂_d = m_d/(1−γ) with m_d = γ m_d' + (1−γ) v_d; stores m_d (detached)."""
        previous = self._ema.get(domain)
        if previous is None:
            previous = torch.zeros_like(variance)
        elif previous.shape != variance.shape:
            raise DGError(
                f"Fishr: EMA of domain {domain!r} has {previous.numel()} entries, the penalized "
                f"parameters now have {variance.numel()}"
            )
        average = self.ema * previous.to(variance.device) + (1 - self.ema) * variance
        self._ema[domain] = average.detach().clone()
        return average / (1 - self.ema)

    def step(self, model: torch.nn.Module, batches: list[Batch], step_index: int) -> torch.Tensor:
        domains = [batch.domain for batch in batches]
        if len(set(domains)) != len(domains):
            raise DGError(f"Fishr needs one batch per distinct domain, got domains {domains}")
        weight = self.weight_at(step_index)
        targets = penalty_targets(model, self.penalty_params)
        losses, variances = [], []
        for batch in batches:
            loss, grads = per_sample_gradients(model, batch, targets, create_graph=weight > 0,
                                               dtype=self.autocast_dtype)
            losses.append(loss)
            variances.append(self.smoothed(batch.domain, gradient_variance(grads)))
        nll = torch.stack(losses).mean()
        penalty = fishr_penalty(variances)
        objective = nll + weight * penalty if weight > 0 else nll
        objective.backward()
        self.last_penalty, self.last_nll = float(penalty.detach()), float(nll.detach())
        return objective.detach()

    def state_dict(self) -> dict[str, Any]:
        """The per-domain EMAs m_d (on the CPU), needed to resume exactly."""
        return {"ema": {domain: m.detach().cpu() for domain, m in self._ema.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._ema = {domain: m.clone() for domain, m in state.get("ema", {}).items()}
