"""Tests for csbench.merge: hand-computed cases per method, peft agreement, errors, helpers.

Expected numbers are worked out by hand in the comments next to them, so a failure points at
the arithmetic of one method rather than at another implementation.
"""

from __future__ import annotations

import inspect
import math

import pytest
import torch
from peft.utils import merge_utils as peft_merge

from csbench.merge import (
    MERGE_METHODS,
    METHOD_HYPERPARAMETERS,
    layer_group,
    layer_statistics,
    merge_task_vectors,
    parameter_seed,
    restrict_to,
    validate_hyperparameters,
)
from csbench.merge.methods import trim_globally

torch.set_num_threads(1)


def t(*values: float) -> torch.Tensor:
    """A float32 tensor from literal values."""
    return torch.tensor(values, dtype=torch.float32)


def merge_one(method: str, tensors: list[torch.Tensor], **hp: object) -> torch.Tensor:
    """Merge single-parameter task vectors (key "p") and return the merged tensor."""
    return merge_task_vectors(method, [{"p": x} for x in tensors], **hp)["p"]


def close(actual: torch.Tensor, expected: torch.Tensor | list, atol: float = 1e-6) -> None:
    expected = torch.as_tensor(expected, dtype=torch.float32)
    torch.testing.assert_close(actual, expected, atol=atol, rtol=1e-5)


def random_task_vectors(n: int, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    """Small Whisper-like task vectors: a few matrices, biases and a scalar."""
    g = torch.Generator().manual_seed(seed)
    shapes = {
        "model.encoder.layers.0.fc1.weight": (12, 8),
        "model.encoder.layers.0.fc1.bias": (12,),
        "model.encoder.layers.1.self_attn.q_proj.weight": (8, 8),
        "model.decoder.layers.0.fc2.weight": (8, 12),
        "model.encoder.conv1.weight": (8, 3, 3),
    }
    return [{k: torch.randn(s, generator=g) for k, s in shapes.items()} for _ in range(n)]


# ------------------------------------------------------------------------------------------
# Hand-computed cases, one or more per method
# ------------------------------------------------------------------------------------------

A = t(1, 2, 3)
B = t(3, 0, -3)


def test_weight_average_hand() -> None:
    # (a + b) / 2 = ([1,2,3] + [3,0,-3]) / 2 = [4,2,0] / 2 = [2, 1, 0]
    close(merge_one("weight_average", [A, B]), [2, 1, 0])
    # weights [3, 1]: (3a + b) / 4 = ([3,6,9] + [3,0,-3]) / 4 = [6,6,6] / 4 = [1.5, 1.5, 1.5]
    close(merge_one("weight_average", [A, B], weights=[3, 1]), [1.5, 1.5, 1.5])


def test_task_arithmetic_hand() -> None:
    # λ = 0.5: 0.5 * ([1,2,3] + [3,0,-3]) = 0.5 * [4,2,0] = [2, 1, 0]
    close(merge_one("task_arithmetic", [A, B], scaling=0.5), [2, 1, 0])
    # weights [1,-1], λ = 2: 2 * ([1,2,3] - [3,0,-3]) = 2 * [-2,2,6] = [-4, 4, 12]
    close(merge_one("task_arithmetic", [A, B], weights=[1, -1], scaling=2.0), [-4, 4, 12])


# Four entries with distinct magnitudes, so top-k trimming has no ties.
TA = t(1, -2, 3, 0.5)
TB = t(-3, 1, 2, 0.1)


def test_ties_hand() -> None:
    # Trim to density 0.5 (top 2 of 4 by |x|): a -> [0,-2,3,0], b -> [-3,0,2,0].
    # Elect ("total"): sum = [-3,-2,5,0] -> sign (>= 0 counts as +) = [-,-,+,+].
    # Disjoint mean of entries agreeing with the sign:
    #   e0: only b (-3)           -> -3
    #   e1: only a (-2)           -> -2
    #   e2: a and b (3 + 2) / 2   -> 2.5
    #   e3: nobody (0 / max(0,1)) -> 0
    # λ = 2 -> [-6, -4, 5, 0]
    close(merge_one("ties", [TA, TB], density=0.5, scaling=2.0), [-6, -4, 5, 0])


@pytest.mark.filterwarnings("ignore:The density")
def test_ties_majority_sign_methods_differ_hand() -> None:
    # density 1 keeps everything. Members 1, 1, -5:
    #   "total":     1 + 1 - 5 = -3 < 0 -> sign -, only -5 agrees -> -5
    #   "frequency": +1 +1 -1  = +1     -> sign +, mean of 1 and 1 -> 1
    members = [t(1.0), t(1.0), t(-5.0)]
    close(merge_one("ties", members, density=1.0, majority_sign_method="total"), [-5])
    close(merge_one("ties", members, density=1.0, majority_sign_method="frequency"), [1])


@pytest.mark.filterwarnings("ignore:The density")
def test_dare_linear_density_one_hand() -> None:
    # density 1 drops nothing and rescales by 1/1, leaving λ Σ w_i τ_i:
    # 0.5 * (1*[1,2] + 2*[3,4]) = 0.5 * [7,10] = [3.5, 5]
    out = merge_one("dare_linear", [t(1, 2), t(3, 4)], density=1.0, weights=[1, 2], scaling=0.5)
    close(out, [3.5, 5])


def test_dare_linear_drop_and_rescale_hand() -> None:
    # One member, density 0.25: every entry is either dropped (0) or kept and rescaled by
    # 1/0.25 = 4, so with τ = [1,...,1] each output entry is 0 or 4.
    out = merge_one("dare_linear", [torch.ones(400)], density=0.25, seed=3)
    assert set(out.unique().tolist()) <= {0.0, 4.0}
    kept = int((out == 4).sum())
    assert 50 < kept < 150  # Binomial(400, 0.25): mean 100, sd ~8.7


@pytest.mark.filterwarnings("ignore:The density")
def test_dare_ties_density_one_hand() -> None:
    # density 1 (no drop): a = [1,-2], b = [-3,1]; total = [-2,-1] -> both signs -;
    # e0: only b -> -3; e1: only a -> -2; λ = 1 -> [-3, -2]
    close(merge_one("dare_ties", [t(1, -2), t(-3, 1)], density=1.0), [-3, -2])


def test_magnitude_prune_hand() -> None:
    # density 0.5: a -> [0,-2,3,0], b -> [-3,0,2,0]; weights [1,2]:
    # [0,-2,3,0] + 2*[-3,0,2,0] = [-6, -2, 7, 0]
    close(merge_one("magnitude_prune", [TA, TB], density=0.5, weights=[1, 2]), [-6, -2, 7, 0])


def test_breadcrumbs_hand() -> None:
    # n = 10, density 0.5, beta 0.1 -> drop int(0.1*10) = 1 largest, keep int(0.5*10) = 5 next.
    a = t(0.1, -4, 2, -0.5, 1, 3, -0.2, 0.05, 1.5, -2.5)
    # |a| ranked: 4(i1) 3(i5) 2.5(i9) 2(i2) 1.5(i8) | 1(i4) ... -> drop i1, keep i5,i9,i2,i8,i4
    #   a' = [0, 0, 2, 0, 1, 3, 0, 0, 1.5, -2.5]
    b = torch.ones(10)
    # all tied: the stable sort ranks by index -> drop i0, keep i1..i5
    #   b' = [0, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    # λ = 2: 2 * (a' + b') = 2 * [0,1,3,1,2,4,0,0,1.5,-2.5] = [0,2,6,2,4,8,0,0,3,-5]
    out = merge_one("breadcrumbs", [a, b], density=0.5, beta=0.1, scaling=2.0)
    close(out, [0, 2, 6, 2, 4, 8, 0, 0, 3, -5])


def test_model_stock_hand_two_members() -> None:
    # a = [1,0], b = [1,1]: cos = 1 / (1 * sqrt 2) = 1/sqrt2
    # t = 2c / (1 + c) = sqrt2 / (1 + 1/sqrt2) = 2 / (sqrt2 + 1) = 2(sqrt2 - 1) ~ 0.828427
    # mean = [1, 0.5] -> t * mean = [2 sqrt2 - 2, sqrt2 - 1] ~ [0.828427, 0.414214]
    r2 = math.sqrt(2)
    close(merge_one("model_stock", [t(1, 0), t(1, 1)]), [2 * r2 - 2, r2 - 1])


def test_model_stock_hand_three_members() -> None:
    # a=[1,0], b=[0,1], c=[1,1]: cos(a,b)=0, cos(a,c)=cos(b,c)=1/sqrt2 -> mean c = sqrt2/3
    # t = 3c / (1 + 2c) = sqrt2 / (1 + 2 sqrt2/3) = 3 sqrt2 / (3 + 2 sqrt2)
    # mean = [2/3, 2/3] -> t * 2/3 = 2 sqrt2 / (3 + 2 sqrt2) = 6 sqrt2 - 8 ~ 0.485281
    v = 6 * math.sqrt(2) - 8
    close(merge_one("model_stock", [t(1, 0), t(0, 1), t(1, 1)]), [v, v])


def test_model_stock_clamp_and_fallbacks() -> None:
    # a=[1,0], b=[-1,0.5]: cos < 0 -> clamped to 0 -> t = 0 -> back to the base (zeros)
    close(merge_one("model_stock", [t(1, 0), t(-1, 0.5)]), [0, 0])
    # scalars have no angle -> mean: (2 + 4) / 2 = 3
    close(merge_one("model_stock", [t(2.0), t(4.0)]), [3])
    # a zero member has no angle -> mean: ([0,0] + [1,2]) / 2 = [0.5, 1]
    close(merge_one("model_stock", [t(0, 0), t(1, 2)]), [0.5, 1])
    # identical members: cos = 1 -> t = 2*1 / (1 + 1) = 1 -> the member itself
    close(merge_one("model_stock", [t(1, 2), t(1, 2)]), [1, 2])


def test_tsv_merge_hand_truncation() -> None:
    # 2x2, N = 2 -> k = max(1, floor(1.0 * 2 / 2)) = 1 component per task.
    # τ1 = diag(3, 1): top component 3 e1 e1ᵀ (the 1 e2 e2ᵀ part is dropped)
    # τ2 = diag(0, 2): top component 2 e2 e2ᵀ
    # U = [e1 e2], V = [e1 e2] are already orthogonal -> polar factor leaves them:
    # merged = 3 e1e1ᵀ + 2 e2e2ᵀ = diag(3, 2); λ = 0.5 -> diag(1.5, 1)
    out = merge_one("tsv_merge", [torch.diag(t(3, 1)), torch.diag(t(0, 2))], scaling=0.5)
    close(out, [[1.5, 0], [0, 1]])


def test_tsv_merge_hand_decorrelation() -> None:
    # 2x2, k = 1. τ1 = 2 e1 e1ᵀ; τ2 = 2 u e2ᵀ with u = (e1 + e2)/sqrt2, i.e. the two tasks'
    # left singular vectors are 45° apart (interference): U = [e1 u] = [[1, c], [0, c]],
    # c = 1/sqrt2; V = [e1 e2] = I (polar I).
    # Polar factor of a 2x2 M = [[a, b], [g, d]] with det > 0 is the rotation normalise(
    # [[a + d, b - g], [g - b, a + d]]) = normalise([[1 + c, c], [-c, 1 + c]]): a rotation by
    # -22.5°, so the columns move from 0° and 45° to -22.5° and 67.5°, now 90° apart:
    #   polar(U) = [[cos22.5, sin22.5], [-sin22.5, cos22.5]] = [[0.923880, 0.382683],
    #                                                           [-0.382683, 0.923880]]
    # merged = polar(U) diag(2, 2) Iᵀ = [[1.847759, 0.765367], [-0.765367, 1.847759]]
    # (task arithmetic would give [[2, 1.414214], [0, 1.414214]]).
    c = 1 / math.sqrt(2)
    tau1 = t(2, 0, 0, 0).view(2, 2)
    tau2 = 2 * torch.outer(t(c, c), t(0, 1))
    cos, sin = math.cos(math.pi / 8), math.sin(math.pi / 8)
    close(merge_one("tsv_merge", [tau1, tau2]), [[2 * cos, 2 * sin], [-2 * sin, 2 * cos]], 1e-5)


def test_tsv_merge_orthogonal_inputs_reproduce_task_arithmetic() -> None:
    # Rank-2 τ1, τ2 of shape 6x4 built on disjoint columns of random orthogonal bases:
    # k = floor(4 / 2) = 2 keeps each exactly, U and V are already orthonormal, so
    # TSV-Merge = λ (τ1 + τ2).
    g = torch.Generator().manual_seed(0)
    left, _ = torch.linalg.qr(torch.randn(6, 6, generator=g))
    right, _ = torch.linalg.qr(torch.randn(4, 4, generator=g))
    tau1 = left[:, :2] @ torch.diag(t(5, 2)) @ right[:, :2].T
    tau2 = left[:, 2:4] @ torch.diag(t(4, 1)) @ right[:, 2:4].T
    out = merge_one("tsv_merge", [tau1, tau2], scaling=0.7)
    expected = merge_one("task_arithmetic", [tau1, tau2], scaling=0.7)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_tsv_merge_non_matrix_falls_back_to_mean() -> None:
    # 1-D: λ * mean = 2 * ([1,2] + [3,4]) / 2 = [4, 6]
    close(merge_one("tsv_merge", [t(1, 2), t(3, 4)], scaling=2.0), [4, 6])


def test_tsv_merge_rank_fraction() -> None:
    # 4x4, N = 2, rank_fraction 0.5 -> k = floor(0.5 * 4 / 2) = 1: only the top singular
    # value of each survives. τ1 = diag(4,3,0,0) -> 4 e1e1ᵀ; τ2 = diag(0,0,2,1) -> 2 e3e3ᵀ.
    out = merge_one(
        "tsv_merge", [torch.diag(t(4, 3, 0, 0)), torch.diag(t(0, 0, 2, 1))], rank_fraction=0.5
    )
    close(out, torch.diag(t(4, 0, 2, 0)), atol=1e-5)


# ------------------------------------------------------------------------------------------
# Agreement with peft where both implement the method
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "peft_fn", "extra"),
    [
        ("task_arithmetic", peft_merge.task_arithmetic, {}),
        ("magnitude_prune", peft_merge.magnitude_prune, {"density": 0.3}),
        ("ties", peft_merge.ties, {"density": 0.3, "majority_sign_method": "frequency"}),
    ],
)
def test_agrees_with_peft(method: str, peft_fn, extra: dict) -> None:
    """peft trims per tensor: with trim per_tensor the methods are peft's, entry for entry."""
    members = random_task_vectors(3)
    weights = [0.5, 1.0, 2.0]
    trim = {"trim": "per_tensor"} if "trim" in validate_hyperparameters(method, {}) else {}
    merged = merge_task_vectors(method, members, weights=weights, scaling=0.8, **extra, **trim)
    for key in members[0]:
        expected = 0.8 * peft_fn([m[key] for m in members], torch.tensor(weights), **extra)
        torch.testing.assert_close(merged[key], expected)


@pytest.mark.parametrize("method", ["dare_linear", "dare_ties"])
def test_dare_agrees_with_peft_under_parameter_seed(method: str) -> None:
    members = random_task_vectors(3)
    weights = [1.0, 0.5, 1.5]
    merged = merge_task_vectors(method, members, weights=weights, density=0.4, seed=11)
    peft_fn = getattr(peft_merge, method)
    for key in members[0]:
        torch.manual_seed(parameter_seed(11, key))
        expected = peft_fn([m[key] for m in members], torch.tensor(weights), density=0.4)
        torch.testing.assert_close(merged[key], expected)


def test_global_trim_keeps_the_top_entries_of_the_whole_task_vector() -> None:
    # Two tensors; the largest |τ| all sit in "big": a global trim at density 0.5 keeps them
    # and zeroes "small" entirely, where a per-tensor trim keeps half of each.
    member = {"big": t(10, -9, 8, 7), "small": t(0.4, -0.3, 0.2, 0.1)}
    trimmed = trim_globally(member, 0.5)
    close(trimmed["big"], [10, -9, 8, 7])
    close(trimmed["small"], [0, 0, 0, 0])
    close(trim_globally(member, 0.25)["big"], [10, -9, 0, 0])
    close(trim_globally(member, 0.0)["big"], [0, 0, 0, 0])
    # TIES with the global trim (the default) is TIES per tensor on the globally trimmed members.
    other = {"big": t(-1, 2, -3, 4), "small": t(5, -6, 0.5, 0.25)}
    merged = merge_task_vectors("ties", [member, other], density=0.5, scaling=1.5)
    expected = merge_task_vectors("ties", [trim_globally(member, 0.5), trim_globally(other, 0.5)],
                                  density=1.0, trim="per_tensor", scaling=1.5)
    for key in member:
        close(merged[key], expected[key])
    per_tensor = merge_task_vectors("ties", [member, other], density=0.5, scaling=1.5, trim="per_tensor")
    assert not torch.equal(per_tensor["small"], merged["small"])
    assert validate_hyperparameters("ties", {})["trim"] == "global"
    with pytest.raises(ValueError, match="'trim' must be one of"):
        merge_task_vectors("ties", [member, other], trim="layer")


def test_breadcrumbs_without_beta_is_magnitude_prune() -> None:
    members = random_task_vectors(2)
    crumbs = merge_task_vectors("breadcrumbs", members, density=0.3, beta=0.0)
    pruned = merge_task_vectors("magnitude_prune", members, density=0.3, trim="per_tensor")
    for key in members[0]:
        torch.testing.assert_close(crumbs[key], pruned[key])


# ------------------------------------------------------------------------------------------
# DARE determinism
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["dare_linear", "dare_ties"])
def test_dare_deterministic_and_order_independent(method: str) -> None:
    members = random_task_vectors(2)
    first = merge_task_vectors(method, members, seed=5)
    again = merge_task_vectors(method, members, seed=5)
    reversed_members = [dict(reversed(list(m.items()))) for m in members]
    reordered = merge_task_vectors(method, reversed_members, seed=5)
    key = "model.encoder.layers.1.self_attn.q_proj.weight"
    subset = merge_task_vectors(method, [{key: m[key]} for m in members], seed=5)
    other_seed = merge_task_vectors(method, members, seed=6)
    for k in members[0]:
        torch.testing.assert_close(first[k], again[k], rtol=0, atol=0)
        torch.testing.assert_close(first[k], reordered[k], rtol=0, atol=0)
    torch.testing.assert_close(first[key], subset[key], rtol=0, atol=0)
    assert not torch.equal(first[key], other_seed[key])


def test_dare_leaves_global_rng_untouched() -> None:
    torch.manual_seed(1234)
    expected = torch.rand(3)
    torch.manual_seed(1234)
    merge_task_vectors("dare_linear", random_task_vectors(2), seed=0)
    torch.testing.assert_close(torch.rand(3), expected)


def test_parameter_seed_depends_on_seed_and_name() -> None:
    assert parameter_seed(0, "a") == parameter_seed(0, "a")
    assert len({parameter_seed(0, "a"), parameter_seed(1, "a"), parameter_seed(0, "b")}) == 3


# ------------------------------------------------------------------------------------------
# Registry, validation and errors
# ------------------------------------------------------------------------------------------


def test_registry_matches_function_signatures() -> None:
    # METHOD_HYPERPARAMETERS must list exactly the keyword arguments of each function, with
    # the same defaults, or merge_task_vectors would pass an argument the function rejects.
    assert set(METHOD_HYPERPARAMETERS) == set(MERGE_METHODS)
    for name, fn in MERGE_METHODS.items():
        params = list(inspect.signature(fn).parameters.values())[1:]
        assert {p.name: p.default for p in params} == METHOD_HYPERPARAMETERS[name], name


@pytest.mark.parametrize("method", sorted(MERGE_METHODS))
def test_every_method_runs_with_defaults(method: str) -> None:
    members = random_task_vectors(3)
    merged = merge_task_vectors(method, members)
    assert list(merged) == list(members[0])
    for key, value in merged.items():
        assert value.shape == members[0][key].shape
        assert value.dtype == torch.float32
        assert torch.isfinite(value).all()


def test_validate_hyperparameters_fills_defaults() -> None:
    resolved = validate_hyperparameters("ties", {"density": 0.2})
    assert resolved == {
        "scaling": 1.0,
        "density": 0.2,
        "majority_sign_method": "total",
        "trim": "global",
        "weights": None,
    }


def test_unknown_method_lists_available() -> None:
    with pytest.raises(ValueError, match=r"unknown merge method 'slerp'; available: .*tsv_merge"):
        merge_task_vectors("slerp", [{"p": A}])


def test_unknown_hyperparameter_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown hyperparameter\(s\) for 'ties': 'beta'"):
        merge_task_vectors("ties", [{"p": A}], beta=0.1)
    with pytest.raises(ValueError, match=r"for 'model_stock': 'scaling'; allowed: none"):
        merge_task_vectors("model_stock", [{"p": A}, {"p": B}], scaling=1.0)


@pytest.mark.parametrize(
    ("method", "hp", "pattern"),
    [
        ("ties", {"density": 1.5}, r"'density' must lie in \[0, 1\]"),
        ("dare_linear", {"density": 0.0}, r"'density' must lie in \(0, 1\]"),
        ("ties", {"majority_sign_method": "mean"}, "majority_sign_method"),
        ("breadcrumbs", {"density": 0.7, "beta": 0.4}, "density \\+ beta must be <= 1"),
        ("tsv_merge", {"rank_fraction": 0.0}, "rank_fraction"),
        ("dare_ties", {"seed": 1.5}, "'seed' must be an int"),
        ("task_arithmetic", {"scaling": float("nan")}, "'scaling' must be a finite number"),
        ("task_arithmetic", {"weights": [1.0]}, "'weights' has 1 values for 2 task vectors"),
        ("weight_average", {"weights": [1.0, -1.0]}, "must not sum to zero"),
    ],
)
def test_bad_hyperparameter_values(method: str, hp: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        merge_task_vectors(method, [{"p": A}, {"p": B}], **hp)


def test_mismatched_keys_and_shapes_name_the_key() -> None:
    with pytest.raises(ValueError, match="task vector 1 lacks key 'q' present in task vector 0"):
        merge_task_vectors("task_arithmetic", [{"p": A, "q": A}, {"p": B}])
    with pytest.raises(ValueError, match="task vector 1 has key 'r' absent from task vector 0"):
        merge_task_vectors("task_arithmetic", [{"p": A}, {"p": B, "r": B}])
    with pytest.raises(ValueError, match=r"shape mismatch for key 'p'.*\(3,\).*\(2,\)") as err:
        merge_task_vectors("task_arithmetic", [{"p": A}, {"p": t(1, 2)}])
    assert "\n" not in str(err.value)


def test_member_count_errors() -> None:
    with pytest.raises(ValueError, match="no task vectors"):
        merge_task_vectors("task_arithmetic", [])
    with pytest.raises(ValueError, match="model_stock needs at least 2"):
        merge_task_vectors("model_stock", [{"p": A}])


# ------------------------------------------------------------------------------------------
# restrict_to and layer_statistics
# ------------------------------------------------------------------------------------------


def test_restrict_to_keeps_matching_keys_only() -> None:
    tv = {
        "model.encoder.layers.1.fc1.weight": A,
        "model.encoder.layers.2.fc1.weight": A,
        "model.encoder.layers.3.self_attn.k_proj.weight": A,
        "model.encoder.layers.12.fc1.weight": A,
        "model.decoder.layers.2.fc1.weight": A,
    }
    kept = restrict_to(tv, [r"model\.encoder\.layers\.[2-3]\."])
    assert list(kept) == [
        "model.encoder.layers.2.fc1.weight",
        "model.encoder.layers.3.self_attn.k_proj.weight",
    ]
    assert kept["model.encoder.layers.2.fc1.weight"] is A  # shared, not copied
    both = restrict_to(tv, [r"encoder\.layers\.1\.", r"^model\.decoder\."])
    assert list(both) == ["model.encoder.layers.1.fc1.weight", "model.decoder.layers.2.fc1.weight"]
    # A restricted merge leaves out (= keeps at base) everything else.
    merged = merge_task_vectors("task_arithmetic", [kept, kept])
    assert set(merged) == set(kept)


def test_restrict_to_errors() -> None:
    with pytest.raises(ValueError, match="empty"):
        restrict_to({"a": A}, [])
    with pytest.raises(ValueError, match="invalid regular expression '\\['"):
        restrict_to({"a": A}, ["["])
    with pytest.raises(ValueError, match="pattern 'zzz' matches no parameter"):
        restrict_to({"a": A}, ["a", "zzz"])


def test_layer_group() -> None:
    assert layer_group("model.encoder.layers.3.self_attn.k_proj.weight") == "model.encoder.layers.3"
    assert layer_group("model.decoder.layers.11.fc2.bias") == "model.decoder.layers.11"
    assert layer_group("model.encoder.conv1.weight") == "model.encoder"
    assert layer_group("model.decoder.embed_tokens.weight") == "model.decoder"
    assert layer_group("proj_out.weight") == "proj_out"


def test_layer_statistics_tiny() -> None:
    members = {
        "x": {
            "model.encoder.layers.0.fc1.weight": t(3, 0),
            "model.encoder.layers.0.fc2.bias": t(4),
            "model.encoder.conv1.weight": t(1, 1),
        },
        "y": {
            "model.encoder.layers.0.fc1.weight": t(0, 1),
            "model.encoder.layers.0.fc2.bias": t(0),
            "model.encoder.conv1.weight": t(2, 2),
        },
        "z": {
            "model.encoder.layers.0.fc1.weight": t(0, 0),
            "model.encoder.layers.0.fc2.bias": t(0),
            "model.encoder.conv1.weight": t(-1, -1),
        },
    }
    rows = layer_statistics(members)
    assert all(
        set(r) == {"layer", "member", "member_a", "member_b", "statistic", "value"} for r in rows
    )
    got = {
        (r["layer"], r["member"] or f"{r['member_a']}-{r['member_b']}", r["statistic"]): r["value"]
        for r in rows
    }
    layer0, stem = "model.encoder.layers.0", "model.encoder"
    # layer 0: x = [3,0,4] -> |x| = 5; y = [0,1,0] -> 1; z = 0
    assert got[(layer0, "x", "l2_norm")] == pytest.approx(5.0)
    assert got[(layer0, "y", "l2_norm")] == pytest.approx(1.0)
    assert got[(layer0, "z", "l2_norm")] == 0.0
    # x·y = 3*0 + 0*1 + 4*0 = 0 -> cos 0; z is all-zero -> NaN
    assert got[(layer0, "x-y", "cosine")] == pytest.approx(0.0)
    assert math.isnan(got[(layer0, "x-z", "cosine")])
    # stem: x = [1,1] (sqrt2), y = [2,2] (2 sqrt2), z = [-1,-1]: cos(x,y) = 1, cos(x,z) = -1
    assert got[(stem, "y", "l2_norm")] == pytest.approx(2 * math.sqrt(2))
    assert got[(stem, "x-y", "cosine")] == pytest.approx(1.0)
    assert got[(stem, "x-z", "cosine")] == pytest.approx(-1.0)
    # 2 layers x (3 norms + 3 pairs)
    assert len(rows) == 12
    assert [r["layer"] for r in rows][:1] == [layer0]
    with pytest.raises(ValueError, match="member 'y' lacks key"):
        layer_statistics({"x": {"a": A, "b": A}, "y": {"a": A}})


def test_tsv_merge_on_low_rank_task_vectors_equals_merging_at_their_true_rank() -> None:
    """LoRA-like rank-2 task vectors: keeping k = 6 singular vectors each (rank_fraction 1 on
    24 x 24, 2 members -> 12 > rank) must give exactly the merge at k = 2, not a merge
    rotated against the arbitrary singular vectors of the zero singular values."""
    generator = torch.Generator().manual_seed(0)
    low_rank = [torch.randn(24, 2, generator=generator) @ torch.randn(2, 24, generator=generator) for _ in range(2)]
    at_true_rank = merge_one("tsv_merge", low_rank, rank_fraction=4 / 24)  # k = int(4/24 * 24 / 2) = 2
    capped = merge_one("tsv_merge", low_rank, rank_fraction=1.0)
    assert torch.allclose(capped, at_true_rank, atol=1e-4)
    assert float((capped - sum(low_rank)).norm() / sum(low_rank).norm()) < 0.5  # a real merge, not zero


def test_tsv_merge_of_a_zero_task_vector_keeps_the_other() -> None:
    tau = torch.diag(t(3.0, 0.0, 0.0))
    close(merge_one("tsv_merge", [tau, torch.zeros(3, 3)]), tau.tolist(), 1e-6)
