"""Merge methods over task vectors, and the helpers the merge stage needs around them.

A *task vector* is ``dict[str, torch.Tensor]`` mapping a parameter name to
``ΔW = θ_finetuned - θ_base`` (float32). Merging never touches the base model: every method
returns a merged task vector ``τ_merged`` and the caller builds ``θ_base + τ_merged``. Keeping the
base out of this module is what lets one merged vector be applied to any copy of the base and
makes the methods testable on a handful of numbers.

Each method is a small pure function over the list of same-shaped tensors of ONE parameter, the
calling convention of :mod:`peft.utils.merge_utils`, so peft's implementations can be used
directly where peft has them. :func:`merge_task_vectors` applies a method to every parameter of
a set of task vectors; :data:`METHODS` holds one :class:`MergeMethod` record per method (its
hyperparameters and their defaults, minimum members, checks), the registry config validation
reads. Layer restriction and per-layer statistics live in :mod:`.analysis`, recipes (what a
merge job writes and evaluation materializes) in :mod:`.recipe`.

Conventions shared by every method:

* ``scaling`` is the λ of the papers and multiplies the merged vector last.
* ``weights`` (one float per member, default all 1.0) multiplies each member's tensor before it
  is combined, exactly where peft applies its ``weights``.
* ``density`` is the fraction of entries KEPT (peft's and mergekit's meaning), and counts are
  floored with ``int(density * numel)`` as peft does.
* ``trim`` (TIES and magnitude pruning): ``global`` keeps the top-``density`` entries of each
  member's WHOLE task vector, as the TIES authors' code does (it flattens the model's task
  vector before its top-k), so a layer whose updates are large keeps more of them than one
  whose updates are small; ``per_tensor`` keeps the top-``density`` of every tensor, as peft's
  and mergekit's implementations do. :func:`merge_task_vectors` applies the global trim
  before the per-parameter function, which then trims nothing (density 1).
"""

from __future__ import annotations

import functools
import math
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import torch

from csbench.errors import MergeError

TaskVector = dict[str, torch.Tensor]
#: One parameter's tensors, one per member; and the optional per-member weights.
Tensors = Sequence[torch.Tensor]
Weights = torch.Tensor | None

@functools.cache
def _peft() -> ModuleType:
    """peft's merge utilities, imported on first use.

    Importing peft pulls in transformers (seconds); config validation only needs the registry
    below, so the import is deferred until a peft-backed method actually runs.
    """
    from peft.utils import merge_utils

    return merge_utils


def _weights_tensor(weights: Weights, n: int) -> torch.Tensor:
    """Per-member weights as a float32 tensor, all ones when the caller gave none."""
    if weights is None:
        return torch.ones(n, dtype=torch.float32)
    return torch.as_tensor(weights, dtype=torch.float32)


def _weighted_stack(task_tensors: Tensors, weights: Weights) -> torch.Tensor:
    """Stack members on dim 0 and multiply member i by w_i (the peft convention)."""
    stacked = torch.stack(list(task_tensors), dim=0)
    w = _weights_tensor(weights, len(task_tensors))
    return stacked * w.view((-1,) + (1,) * (stacked.dim() - 1))


# --------------------------------------------------------------------------------------------
# Per-parameter methods
# --------------------------------------------------------------------------------------------


def weight_average(task_tensors: Tensors, weights: Weights = None) -> torch.Tensor:
    """Uniform (or weighted) average of task vectors: a "uniform soup".

    Wortsman et al., 2022, "Model soups: averaging weights of multiple fine-tuned models improves
    accuracy without increasing inference time" (ICML). The uniform soup
    θ = (1/N) Σ θ_i is, relative to the shared base, τ = (1/N) Σ τ_i; with weights this is
    τ = Σ w_i τ_i / Σ w_i, so the result stays a convex combination for non-negative weights.
    It has no λ on purpose: the soup is an average, and task_arithmetic covers scaled sums.

    peft has no plain-average method (its task_arithmetic is a weighted sum), hence by hand.
    """
    w = _weights_tensor(weights, len(task_tensors))
    return _weighted_stack(task_tensors, w).sum(dim=0) / w.sum()


def task_arithmetic(task_tensors: Tensors, weights: Weights = None, scaling: float = 1.0) -> torch.Tensor:
    """Task arithmetic: τ = λ · Σ_i w_i τ_i.

    Ilharco et al., 2023, "Editing Models with Task Arithmetic" (ICLR). Adding task vectors adds
    the skills they encode; λ is tuned because the plain sum over-shoots when the tasks overlap.
    Implemented by ``peft.utils.merge_utils.task_arithmetic`` (the weighted sum) times λ.
    """
    w = _weights_tensor(weights, len(task_tensors))
    return scaling * _peft().task_arithmetic(list(task_tensors), w)


def ties(
    task_tensors: Tensors, weights: Weights = None, scaling: float = 1.0, density: float = 0.5,
    majority_sign_method: str = "total", trim: str = "global",
) -> torch.Tensor:
    """TIES-Merging: trim, elect sign, disjoint mean, then scale by λ.

    Yadav et al., 2023, "TIES-Merging: Resolving Interference When Merging Models" (NeurIPS).
    1. Trim: τ̂_i keeps the top-``density`` fraction of |τ_i| entries, zeroing the rest.
    2. Elect: e = sign(Σ_i τ̂_i) ("total") or the majority of signs ("frequency"), from the
       unweighted trimmed tensors as peft does.
    3. Disjoint merge: τ^p = Σ_{i: sign(τ̂_i^p)=e^p} w_i τ̂_i^p / |{i: sign(τ̂_i^p)=e^p}|.
    Result: λ · τ. Redundant small updates and sign conflicts are what interfere between
    tasks, which is why they are removed before averaging. Implemented by
    ``peft.utils.merge_utils.ties`` (steps 1-3) times λ. On one tensor the trim is that
    tensor's; ``trim: global`` (the authors') is applied over the whole task vector by
    :func:`merge_task_vectors` before this is called.
    """
    w = _weights_tensor(weights, len(task_tensors))
    merged = _peft().ties(
        list(task_tensors), w, density=density, majority_sign_method=majority_sign_method
    )
    return scaling * merged


def parameter_seed(seed: int, name: str) -> int:
    """The seed DARE uses for one parameter: CRC-32 of ``f"{seed}:{name}"``.

    Deriving it from the parameter's name, not from a running generator, makes the drop mask of
    a parameter independent of dict order and of which other parameters are merged (e.g. after
    :func:`restrict_to`), so a layer-restricted merge drops exactly the entries the full merge
    drops.
    """
    return zlib.crc32(f"{seed}:{name}".encode())


def _with_seed(seed: int, fn: Callable[[], torch.Tensor]) -> torch.Tensor:
    """Run ``fn`` with the global CPU RNG seeded to ``seed``, restoring the caller's RNG after.

    peft's random pruning draws from the global RNG (``torch.bernoulli``) and accepts no
    ``torch.Generator``, so the global state is seeded and then put back to avoid side effects.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return fn()


def dare_linear(
    task_tensors: Tensors, weights: Weights = None, scaling: float = 1.0, density: float = 0.5,
    seed: int = 0,
) -> torch.Tensor:
    """DARE (Drop And REscale) followed by a linear sum: τ = λ · Σ_i w_i (m_i ⊙ τ_i) / p.

    Yu et al., 2024, "Language Models are Super Mario: Absorbing Abilities from Homologous
    Models as a Free Lunch" (ICML). m_i ~ Bernoulli(p) with p = ``density``; rescaling by 1/p
    keeps E[m_i ⊙ τ_i / p] = τ_i, so most of each delta can be dropped without changing it in
    expectation. Implemented by ``peft.utils.merge_utils.dare_linear`` times λ; ``seed`` here is
    the per-parameter seed (see :func:`parameter_seed`), applied to the global RNG peft uses.
    """
    w = _weights_tensor(weights, len(task_tensors))
    merged = _with_seed(seed, lambda: _peft().dare_linear(list(task_tensors), w, density=density))
    return scaling * merged


def dare_ties(
    task_tensors: Tensors, weights: Weights = None, scaling: float = 1.0, density: float = 0.5,
    majority_sign_method: str = "total", seed: int = 0,
) -> torch.Tensor:
    """DARE drop-and-rescale, then TIES sign election and disjoint mean, times λ.

    Yu et al., 2024 (see :func:`dare_linear`) combined with the sign election of Yadav et al.,
    2023: τ̂_i = m_i ⊙ τ_i / p, then the disjoint merge of :func:`ties` on the τ̂_i. Implemented
    by ``peft.utils.merge_utils.dare_ties`` times λ; ``seed`` is the per-parameter seed.
    """
    w = _weights_tensor(weights, len(task_tensors))
    merged = _with_seed(
        seed,
        lambda: _peft().dare_ties(
            list(task_tensors), w, density=density, majority_sign_method=majority_sign_method
        ),
    )
    return scaling * merged


def magnitude_prune(
    task_tensors: Tensors, weights: Weights = None, scaling: float = 1.0, density: float = 0.5,
    trim: str = "global",
) -> torch.Tensor:
    """Magnitude pruning then sum: τ = λ · Σ_i w_i top_density(τ_i).

    TIES' trim step without sign election (Yadav et al., 2023, used as an ablation there), which
    isolates how much of TIES' effect comes from sparsification alone. Implemented by
    ``peft.utils.merge_utils.magnitude_prune`` times λ.
    """
    w = _weights_tensor(weights, len(task_tensors))
    return scaling * _peft().magnitude_prune(list(task_tensors), w, density=density)


def _breadcrumbs_mask(tensor: torch.Tensor, density: float, beta: float) -> torch.Tensor:
    """Keep-mask of one task tensor: drop the top-``beta`` outliers and the small tail.

    Entries are ranked by |value|, largest first (a stable sort, so ties go to the lower flat
    index and the mask is deterministic). With n = numel, n_top = int(beta·n) and
    n_keep = int(density·n), ranks [n_top, n_top + n_keep) are kept: the largest ``beta``
    fraction and the smallest ``1 - density - beta`` fraction are dropped.
    """
    n = tensor.numel()
    n_top = int(beta * n)
    n_keep = int(density * n)
    order = torch.argsort(tensor.abs().reshape(-1), descending=True, stable=True)
    mask = torch.zeros(n, dtype=torch.bool, device=tensor.device)
    mask[order[n_top : n_top + n_keep]] = True
    return mask.view(tensor.shape)


def breadcrumbs(
    task_tensors: Tensors, weights: Weights = None, scaling: float = 1.0, density: float = 0.5,
    beta: float = 0.01,
) -> torch.Tensor:
    """Model Breadcrumbs: mask both magnitude tails of each task vector, then λ · Σ.

    Davari & Belilovsky, 2024, "Model Breadcrumbs: Scaling Multi-Task Model Merging with Sparse
    Masks" (ECCV). Per task and per parameter, the largest-magnitude entries (outliers that
    dominate and conflict) and the smallest ones (noise) are removed:
    τ = λ · Σ_i w_i (m_i ⊙ τ_i). Convention here (that of mergekit's breadcrumbs): ``density``
    is the fraction KEPT and ``beta`` the fraction of largest entries dropped, so the dropped
    bottom tail is ``1 - density - beta`` (density + beta ≤ 1); see :func:`_breadcrumbs_mask`.
    With beta = 0 this is :func:`magnitude_prune`.

    peft does not provide breadcrumbs, hence by hand.
    """
    stacked = _weighted_stack(task_tensors, weights)
    masks = torch.stack([_breadcrumbs_mask(t, density, beta) for t in task_tensors], dim=0)
    return scaling * (stacked * masks).sum(dim=0)


def model_stock(task_tensors: Tensors) -> torch.Tensor:
    """Model Stock: interpolate the average towards the base by the members' agreement.

    Jang et al., 2024, "Model Stock: All we need is just a few fine-tuned models" (ECCV). Per
    parameter, with N ≥ 2 task vectors flattened, cos θ = mean over pairs i<j of
    ⟨τ_i, τ_j⟩ / (‖τ_i‖‖τ_j‖), clamped to [0, 1];
    t = N·cos θ / (1 + (N - 1)·cos θ); τ = t · (1/N) Σ_i τ_i, i.e. θ = t·θ_avg + (1 - t)·θ_0.
    Members that agree (cos θ → 1) keep the full average; orthogonal noise (cos θ → 0) pulls
    the parameter back to the base. No λ and no weights: t is the paper's data-free ratio.
    A scalar parameter or one where any member is all-zero has no defined angle, so it falls
    back to the plain mean.

    peft does not provide Model Stock, hence by hand.
    """
    n = len(task_tensors)
    if n < 2:
        raise MergeError(f"model_stock needs at least 2 task vectors, got {n}")
    stacked = torch.stack(list(task_tensors), dim=0)
    mean = stacked.mean(dim=0)
    if stacked[0].numel() < 2:
        return mean
    flat = stacked.reshape(n, -1)
    gram = (flat @ flat.T).double()
    sq_norms = gram.diagonal()
    if bool((sq_norms == 0).any()):
        return mean
    cosines = gram / torch.sqrt(sq_norms[:, None] * sq_norms[None, :])
    rows, cols = torch.triu_indices(n, n, offset=1)
    cos = float(cosines[rows, cols].mean().clamp(0.0, 1.0))
    t = n * cos / (1.0 + (n - 1) * cos)
    return t * mean


def numerical_rank(singular_values: torch.Tensor, shape: Sequence[int]) -> int:
    """How many singular values exceed σ_max · max(shape) · ε (NumPy's `matrix_rank` rule)."""
    if singular_values.numel() == 0 or float(singular_values[0]) == 0.0:
        return 0
    tolerance = float(singular_values[0]) * max(shape) * torch.finfo(singular_values.dtype).eps
    return int((singular_values > tolerance).sum())


def _polar_factor(matrix: torch.Tensor) -> torch.Tensor:
    """Orthogonal polar factor P·Qᵀ of ``matrix = P Σ Qᵀ``: the closest matrix with orthonormal
    columns (rows, when wider than tall) in Frobenius norm."""
    p, _, qh = torch.linalg.svd(matrix, full_matrices=False)
    return p @ qh


def tsv_merge(
    task_tensors: Tensors, weights: Weights = None, scaling: float = 1.0,
    rank_fraction: float = 1.0,
) -> torch.Tensor:
    """TSV-Merge: low-rank task singular vectors, decorrelated across tasks, times λ.

    Gargiulo et al., CVPR 2025, "Task Singular Vectors: Reducing Task Interference in Model
    Merging". For a 2-D parameter with N members, SVD each w_i τ_i = U_i S_i V_iᵀ and keep the
    top k = max(1, ⌊rank_fraction · min(shape) / N⌋) components. Concatenate
    U = [U_1,k … U_N,k], S = [S_1,k … S_N,k], V = [V_1,k … V_N,k]; replace U and V by their
    orthogonal polar factors (U = PΣQᵀ → PQᵀ), which removes the overlap between tasks'
    singular directions (the paper's interference measure) with the least change; return
    λ · U_⊥ diag(S) V_⊥ᵀ. When the tasks' singular subspaces are already orthogonal the polar
    factor is the identity map and this is task arithmetic of the rank-k approximations. If the
    concatenated U (or V) is rank-deficient (two tasks with exactly the same singular direction,
    or N·k larger than the dimension), its polar factor is not unique and the completion LAPACK
    picks is arbitrary, as in the paper's code. A member keeps at most its numerical rank
    (`numerical_rank`): a LoRA task vector B·A has rank ≤ r, and singular vectors beyond it
    belong to zero singular values — arbitrary directions that the orthogonalization would
    otherwise rotate the real ones against.

    Parameters that are not matrices (biases, layer norms, conv kernels) have no singular
    vectors: as in the paper's code they are averaged, λ · (1/N) Σ_i w_i τ_i.

    peft does not provide TSV-Merge, hence by hand.
    """
    stacked = _weighted_stack(task_tensors, weights)
    n = stacked.shape[0]
    if stacked.dim() != 3:
        return scaling * stacked.mean(dim=0)
    k = max(1, int(rank_fraction * min(stacked.shape[1:]) / n))
    u_parts, s_parts, v_parts = [], [], []
    for member in stacked:
        u, s, vh = torch.linalg.svd(member, full_matrices=False)
        kept = min(k, numerical_rank(s, member.shape))
        u_parts.append(u[:, :kept])
        s_parts.append(s[:kept])
        v_parts.append(vh[:kept].T)
    if sum(len(part) for part in s_parts) == 0:  # every member is zero here
        return torch.zeros_like(stacked[0])
    u_orth = _polar_factor(torch.cat(u_parts, dim=1))
    v_orth = _polar_factor(torch.cat(v_parts, dim=1))
    return scaling * ((u_orth * torch.cat(s_parts)) @ v_orth.T)


# --------------------------------------------------------------------------------------------
# Registry: one record per method
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeMethod:
    """What the workflow needs to know about one method, besides its function.

    ``hyperparameters`` are the names it accepts with their defaults (``weights`` is the
    per-member weight list, None = all 1.0; ``seed`` the run seed a random method derives
    per-parameter seeds from); ``min_members`` how many task vectors it needs; ``seeded``
    whether it draws random numbers (the recipe then records the study's seed);
    ``density_open_at_zero`` whether density 0 is invalid (DARE rescales by 1/density);
    ``check`` a test across hyperparameters (one line naming the problem) besides each value's range.
    """

    name: str
    function: Callable[..., torch.Tensor]
    hyperparameters: dict[str, Any]
    min_members: int = 1
    seeded: bool = False
    density_open_at_zero: bool = False
    check: Callable[[dict[str, Any]], str | None] | None = None


def _density_plus_beta_at_most_one(params: dict[str, Any]) -> str | None:
    if params["density"] + params["beta"] > 1.0 + 1e-12:
        return f"density + beta must be <= 1, got {params['density']} + {params['beta']}"
    return None


def _weights_do_not_cancel(params: dict[str, Any]) -> str | None:
    if params["weights"] is not None and sum(params["weights"]) == 0:
        return "'weights' must not sum to zero"
    return None


#: Every merge method csbench runs. Adding one: write its per-parameter function above and
#: add its record here (docs/ARCHITECTURE.md).
METHODS: dict[str, MergeMethod] = {
    record.name: record
    for record in (
        MergeMethod("weight_average", weight_average, {"weights": None}, check=_weights_do_not_cancel),
        MergeMethod("task_arithmetic", task_arithmetic, {"scaling": 1.0, "weights": None}),
        MergeMethod(
            "ties",
            ties,
            {"scaling": 1.0, "density": 0.5, "majority_sign_method": "total", "trim": "global", "weights": None},
        ),
        MergeMethod(
            "dare_linear",
            dare_linear,
            {"scaling": 1.0, "density": 0.5, "seed": 0, "weights": None},
            seeded=True,
            density_open_at_zero=True,
        ),
        MergeMethod(
            "dare_ties",
            dare_ties,
            {"scaling": 1.0, "density": 0.5, "majority_sign_method": "total", "seed": 0, "weights": None},
            seeded=True,
            density_open_at_zero=True,
        ),
        MergeMethod(
            "magnitude_prune", magnitude_prune, {"scaling": 1.0, "density": 0.5, "trim": "global", "weights": None}
        ),
        MergeMethod(
            "breadcrumbs",
            breadcrumbs,
            {"scaling": 1.0, "density": 0.5, "beta": 0.01, "weights": None},
            check=_density_plus_beta_at_most_one,
        ),
        MergeMethod("model_stock", model_stock, {}, min_members=2),
        MergeMethod("tsv_merge", tsv_merge, {"scaling": 1.0, "rank_fraction": 1.0, "weights": None}),
    )
}
#: Views of the records: method name → function, and → hyperparameter defaults.
MERGE_METHODS: dict[str, Callable[..., torch.Tensor]] = {name: m.function for name, m in METHODS.items()}
METHOD_HYPERPARAMETERS: dict[str, dict[str, Any]] = {name: m.hyperparameters for name, m in METHODS.items()}

_MAJORITY_SIGN_METHODS = ("total", "frequency")
_TRIM_SCOPES = ("global", "per_tensor")


def _is_real(value: object) -> bool:
    """True for finite int/float values; bools are rejected so ``density: yes`` is an error."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_value(method: str, name: str, value: object) -> None:
    """Raise ValueError when one hyperparameter value is out of its range for ``method``."""
    where = f"{method}: hyperparameter {name!r}"
    intervals = {
        # DARE rescales by 1/density, so density 0 would divide by zero there.
        "density": (0.0, 1.0, METHODS[method].density_open_at_zero),
        "beta": (0.0, 1.0, False),
        "rank_fraction": (0.0, 1.0, True),
    }
    if name in intervals or name == "scaling":
        if not _is_real(value):
            raise MergeError(f"{where} must be a finite number, got {value!r}")
        if name in intervals:
            low, high, low_open = intervals[name]
            assert isinstance(value, (int, float))  # narrowed by _is_real, for type checkers
            number = float(value)
            if not (low < number <= high if low_open else low <= number <= high):
                interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
                raise MergeError(f"{where} must lie in {interval}, got {value!r}")
    elif name == "majority_sign_method" and value not in _MAJORITY_SIGN_METHODS:
        raise MergeError(f"{where} must be one of {_MAJORITY_SIGN_METHODS}, got {value!r}")
    elif name == "trim" and value not in _TRIM_SCOPES:
        raise MergeError(f"{where} must be one of {_TRIM_SCOPES}, got {value!r}")
    elif name == "seed" and (not isinstance(value, int) or isinstance(value, bool)):
        raise MergeError(f"{where} must be an int, got {value!r}")
    elif name == "weights" and value is not None:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise MergeError(f"{where} must be a list of numbers or None, got {value!r}")
        if not all(_is_real(w) for w in value):
            raise MergeError(f"{where} must contain finite numbers only, got {value!r}")


def validate_hyperparameters(method: str, hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    """Check a method name and its hyperparameters; return them completed with defaults.

    Used by :func:`merge_task_vectors` and meant for config validation, so a typo in a config
    fails before any checkpoint is loaded.
    """
    if method not in MERGE_METHODS:
        raise MergeError(
            f"unknown merge method {method!r}; available: {', '.join(sorted(MERGE_METHODS))}"
        )
    allowed = METHOD_HYPERPARAMETERS[method]
    unknown = sorted(set(hyperparameters) - set(allowed))
    if unknown:
        raise MergeError(
            f"unknown hyperparameter(s) for {method!r}: {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(allowed) if allowed else 'none'}"
        )
    resolved = {**allowed, **hyperparameters}
    for name, value in resolved.items():
        _check_value(method, name, value)
    problem = METHODS[method].check(resolved) if METHODS[method].check else None
    if problem:
        raise MergeError(f"{method}: {problem}")
    return resolved


def check_compatible(
    task_vectors: Sequence[Mapping[str, torch.Tensor]], labels: Sequence[str]
) -> None:
    """Raise a one-line ValueError naming the first key whose presence or shape differs."""
    if not task_vectors:
        raise MergeError("no task vectors given")
    reference, ref_label = task_vectors[0], labels[0]
    for tv, label in zip(task_vectors[1:], labels[1:], strict=True):
        missing = [k for k in reference if k not in tv]
        if missing:
            raise MergeError(f"{label} lacks key {missing[0]!r} present in {ref_label}")
        extra = [k for k in tv if k not in reference]
        if extra:
            raise MergeError(f"{label} has key {extra[0]!r} absent from {ref_label}")
        for key, ref_tensor in reference.items():
            if tv[key].shape != ref_tensor.shape:
                raise MergeError(
                    f"shape mismatch for key {key!r}: {ref_label} has "
                    f"{tuple(ref_tensor.shape)}, {label} has {tuple(tv[key].shape)}"
                )
    for tv, label in zip(task_vectors, labels, strict=True):
        for key, tensor in tv.items():
            if not tensor.is_floating_point():
                raise MergeError(f"key {key!r} of {label} is not floating point ({tensor.dtype})")


def trim_globally(task_vector: Mapping[str, torch.Tensor], density: float) -> TaskVector:
    """The task vector with all but its top-``density`` fraction of entries by magnitude zeroed,
    counted over the WHOLE vector (TIES' trim as its authors run it).

    The threshold is the k-th largest |τ| over every entry, k = int(density · total); entries
    equal to it are kept (ties at the threshold are measure-zero for real updates). One member
    at a time: the flattened copy costs 4 bytes per parameter (3 GB for Whisper-medium).
    """
    flat = torch.cat([tensor.detach().reshape(-1).abs().to(torch.float32) for tensor in task_vector.values()])
    keep = int(density * flat.numel())
    if keep >= flat.numel():
        return {key: tensor.to(torch.float32) for key, tensor in task_vector.items()}
    if keep == 0:
        return {key: torch.zeros_like(tensor, dtype=torch.float32) for key, tensor in task_vector.items()}
    threshold = torch.kthvalue(flat, flat.numel() - keep + 1).values
    del flat
    return {key: torch.where(tensor.abs() >= threshold, tensor, torch.zeros_like(tensor)).to(torch.float32)
            for key, tensor in task_vector.items()}


def merge_task_vectors(
    method: str, task_vectors: list[dict[str, torch.Tensor]], **hyperparameters: Any
) -> dict[str, torch.Tensor]:
    """Merge task vectors parameter by parameter with one registered method.

    Args:
        method: a key of :data:`MERGE_METHODS`.
        task_vectors: the members; all must have the same keys and shapes.
        **hyperparameters: those of :data:`METHOD_HYPERPARAMETERS` ``[method]``; omitted ones
            take their defaults. ``weights`` needs one value per member. ``seed`` (DARE) is
            turned into a per-parameter seed with :func:`parameter_seed`.

    Returns:
        The merged task vector (float32, keys in the first member's order). Add it to the base
        model's parameters to obtain the merged model.

    Raises:
        ValueError: unknown method or hyperparameter, out-of-range value, or members whose
            keys/shapes differ (the message names the offending key).
    """
    params = validate_hyperparameters(method, hyperparameters)
    check_compatible(task_vectors, [f"task vector {i}" for i in range(len(task_vectors))])
    n = len(task_vectors)
    if n < METHODS[method].min_members:
        raise MergeError(f"{method} needs at least {METHODS[method].min_members} task vectors, got {n}")
    if "weights" in params and params["weights"] is not None:
        if len(params["weights"]) != n:
            raise MergeError(
                f"{method}: 'weights' has {len(params['weights'])} values for {n} task vectors"
            )
        params["weights"] = torch.tensor(params["weights"], dtype=torch.float32)
    function = MERGE_METHODS[method]
    if params.get("trim") == "global":
        task_vectors = [trim_globally(tv, params["density"]) for tv in task_vectors]
        params["density"] = 1.0  # already trimmed: the per-parameter trim keeps everything
    merged: dict[str, torch.Tensor] = {}
    for key in task_vectors[0]:
        tensors = [tv[key].to(torch.float32) for tv in task_vectors]
        kwargs = dict(params)
        if "seed" in kwargs:
            kwargs["seed"] = parameter_seed(kwargs["seed"], key)
        with warnings.catch_warnings():  # peft warns that density 1 prunes nothing: intended
            warnings.filterwarnings("ignore", message="The density 1.0 is greater than or equal to 1")
            merged[key] = function(tensors, **kwargs).to(torch.float32)
    return merged
