"""Tests for csbench.dg: each method's core computation against a hand-computed value.

Stand-in models keep the numbers small enough to work out by hand: ``Quadratic`` has per-domain
loss ½‖w − c_d‖² (gradient w − c_d, known in closed form), and ``TinyNet`` is a two-layer
classifier that takes ``input_features``/``labels`` and returns ``.loss``/``.logits`` the way
``WhisperForConditionalGeneration`` does (token-mean cross-entropy, -100 ignored). A smoke test
then runs every method for two steps of the real training loop on a tiny Whisper, full and
LoRA.
"""

from __future__ import annotations

import copy
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from transformers import WhisperConfig, WhisperForConditionalGeneration

from csbench.dg import (
    DG_HYPERPARAMETERS,
    DG_METHODS,
    GGA,
    ERMJoint,
    Fish,
    Fishr,
    bind_to_loop,
    make_dg_method,
    validate_dg_hyperparameters,
)
from csbench.dg.fishr import (
    fishr_penalty,
    gradient_variance,
    penalty_targets,
    per_sample_gradients,
)
from csbench.dg.gga import gradient_agreement
from csbench.train.batches import Batch
from csbench.train.loop import TrainSettings, train

torch.set_num_threads(1)
CPU = torch.device("cpu")


# ------------------------------------------------------------------------------------------
# Stand-in models and batches
# ------------------------------------------------------------------------------------------


class Quadratic(torch.nn.Module):
    """loss_d = ½‖w − c_d‖², with c_d carried as the batch's ``input_features`` (shape (1, n))."""

    def __init__(self, *start: float) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(start, dtype=torch.float32))

    def forward(self, input_features: torch.Tensor, labels: torch.Tensor) -> SimpleNamespace:
        target = input_features.reshape(-1, self.w.numel())[0]
        return SimpleNamespace(loss=0.5 * (self.w - target).pow(2).sum())


class TinyNet(torch.nn.Module):
    """tanh hidden layer + output projection; HF-style loss over (B, T) labels."""

    def __init__(self, features: int = 3, hidden: int = 4, vocab: int = 5, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.first = torch.nn.Linear(features, hidden)
        self.proj = torch.nn.Linear(hidden, vocab)

    def forward(self, input_features: torch.Tensor, labels: torch.Tensor) -> SimpleNamespace:
        logits = self.proj(torch.tanh(self.first(input_features)))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
        return SimpleNamespace(loss=loss, logits=logits)


def point_batches(*targets: tuple[float, ...]) -> list[Batch]:
    """One Quadratic batch per domain, c_d = targets[d]."""
    return [
        Batch(torch.tensor([t], dtype=torch.float32), torch.zeros(1, 1, dtype=torch.long), [f"u{d}"], f"d{d}")
        for d, t in enumerate(targets)
    ]


def tiny_batches(seed: int = 0, sizes: tuple[int, ...] = (3, 4), length: int = 2) -> list[Batch]:
    """Random TinyNet batches, one per domain; each batch's first row has a padded token."""
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for d, size in enumerate(sizes):
        features = torch.randn(size, length, 3, generator=generator)
        labels = torch.randint(0, 5, (size, length), generator=generator)
        labels[0, -1] = -100
        batches.append(Batch(features, labels, [f"d{d}-{i}" for i in range(size)], f"dom{d}"))
    return batches


def grads_of(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.grad.detach().clone() for p in model.parameters()]


def close(actual, expected, atol: float = 1e-6) -> None:
    torch.testing.assert_close(
        torch.as_tensor(actual, dtype=torch.float32),
        torch.as_tensor(expected, dtype=torch.float32),
        atol=atol,
        rtol=1e-5,
    )


# ------------------------------------------------------------------------------------------
# Registry and validation
# ------------------------------------------------------------------------------------------


def test_registry_lists_every_method_with_its_defaults() -> None:
    assert set(DG_METHODS) == {"erm", "fish", "fishr", "gga"}
    assert DG_HYPERPARAMETERS.keys() == DG_METHODS.keys()
    for name, defaults in DG_HYPERPARAMETERS.items():
        assert make_dg_method(name).hyperparameters == defaults
    assert validate_dg_hyperparameters("fish", {"meta_lr": 1}) == {
        "meta_lr": 1.0,
        "inner_lr": 3e-4,
        "inner_optimizer": "adam",
        "seed": 0,
    }


def test_unknown_method_and_hyperparameters_are_one_line_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown DG method 'fisher'; available: erm, fish, fishr, gga"):
        make_dg_method("fisher")
    with pytest.raises(
        ValueError,
        match=r"unknown hyperparameter\(s\) for DG method 'fish': 'lr'; allowed: meta_lr, inner_lr, inner_optimizer, seed",
    ):
        make_dg_method("fish", lr=0.1)
    with pytest.raises(ValueError, match="allowed: none"):
        make_dg_method("erm", scaling=1.0)
    with pytest.raises(ValueError, match="'num_candidates' must be int"):
        make_dg_method("gga", num_candidates=2.5)
    with pytest.raises(ValueError, match=r"ema must be in \[0, 1\)"):
        make_dg_method("fishr", ema=1.0)
    with pytest.raises(ValueError, match="agreement must be one of min, mean"):
        make_dg_method("gga", agreement="max")
    with pytest.raises(ValueError, match="not a regex"):
        make_dg_method("fishr", penalty_params="(")
    with pytest.raises(ValueError) as raised:
        make_dg_method("fish", meta_lr=0)
    assert "\n" not in str(raised.value)


# ------------------------------------------------------------------------------------------
# ERM-joint
# ------------------------------------------------------------------------------------------


def test_erm_is_the_mean_domain_loss_and_its_gradient() -> None:
    model, batches = TinyNet(), tiny_batches()
    reference = copy.deepcopy(model)
    loss = ERMJoint().step(model, batches, 0)
    losses = [reference(input_features=b.input_features, labels=b.labels).loss for b in batches]
    expected = (losses[0] + losses[1]) / 2
    expected.backward()
    close(loss, expected.detach())
    for got, want in zip(grads_of(model), grads_of(reference), strict=True):
        close(got, want)


# ------------------------------------------------------------------------------------------
# Fish
# ------------------------------------------------------------------------------------------


def test_fish_domain_order_is_a_seeded_permutation_per_step() -> None:
    fish = Fish(seed=3)
    orders = [fish.domain_order(3, step) for step in range(12)]
    assert all(sorted(order) == [0, 1, 2] for order in orders)
    assert orders == [Fish(seed=3).domain_order(3, step) for step in range(12)]
    assert len({tuple(order) for order in orders}) > 1


def test_fish_inner_loop_is_sequential_sgd_and_step_sets_theta_minus_inner() -> None:
    alpha, w0, targets = 0.1, 1.0, (3.0, -2.0)
    fish = Fish(inner_lr=alpha, meta_lr=0.5, inner_optimizer="sgd")
    first, second = fish.domain_order(2, 0)
    # By hand: w1 = w0 − α(w0 − c_first), w2 = w1 − α(w1 − c_second).
    w1 = w0 - alpha * (w0 - targets[first])
    w2 = w1 - alpha * (w1 - targets[second])
    model = Quadratic(w0)
    losses = fish.inner_loop(model, point_batches((targets[0],), (targets[1],)), 0)
    close(model.w.detach(), [w2])
    close(torch.stack(losses), [0.5 * (w0 - targets[first]) ** 2, 0.5 * (w1 - targets[second]) ** 2])

    model = Quadratic(w0)
    loss = fish.step(model, point_batches((targets[0],), (targets[1],)), 0)
    close(model.w.detach(), [w0])  # θ restored
    close(model.w.grad, [w0 - w2])  # grad = θ − θ̃
    close(loss, (0.5 * (w0 - targets[first]) ** 2 + 0.5 * (w1 - targets[second]) ** 2) / 2)


def test_fish_meta_update_through_the_loop_is_theta_plus_eps_times_displacement(tmp_path) -> None:
    alpha, epsilon, w0, targets = 0.2, 0.3, 1.0, (3.0, -2.0)
    fish = Fish(inner_lr=alpha, meta_lr=epsilon, inner_optimizer="sgd")
    first, second = fish.domain_order(2, 0)
    w1 = w0 - alpha * (w0 - targets[first])
    w2 = w1 - alpha * (w1 - targets[second])
    model = Quadratic(w0)
    settings = TrainSettings(steps=1, learning_rate=123.0, max_grad_norm=1e9, checkpoint_every=100)
    source = lambda step: point_batches((targets[0],), (targets[1],))  # noqa: E731
    train(model, [model.w], source, settings, tmp_path, CPU, **bind_to_loop(fish, settings))
    # One step, no warm-up: the schedule factor is 1, so θ ← θ + ε(θ̃ − θ) exactly.
    close(model.w.detach(), [w0 + epsilon * (w2 - w0)])
    optimizer = fish.optimizer_factory([model.w], 123.0)
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.param_groups[0]["lr"] == epsilon


def test_fish_inner_adam_steps_by_the_learning_rate_and_keeps_its_moments_across_steps() -> None:
    alpha, w0, targets = 0.1, 1.0, (3.0, -2.0)
    fish = Fish(inner_lr=alpha)  # DomainBed's inner Adam, the default
    assert fish.inner_optimizer == "adam"
    first, _ = fish.domain_order(2, 0)
    model = Quadratic(w0)
    fish.inner_loop(model, point_batches((targets[0],), (targets[1],)), 0)
    # Adam's first step moves by α·sign(g) (bias-corrected moments), whatever |g| is.
    inner = fish.inner_optimizer_for([model.w])
    assert inner.state[model.w]["step"] == 2  # two domains, two inner steps
    fish.inner_loop(model, point_batches((targets[0],), (targets[1],)), 1)
    assert inner.state[model.w]["step"] == 4  # moments carried into the next meta step
    # Resuming from state_dict repeats the uninterrupted run exactly.
    resumed_model = Quadratic(float(model.w.detach()))
    resumed = Fish(inner_lr=alpha)
    resumed.load_state_dict(fish.state_dict())
    after = fish.inner_loop(model, point_batches((targets[0],), (targets[1],)), 2)
    again = resumed.inner_loop(resumed_model, point_batches((targets[0],), (targets[1],)), 2)
    close(torch.stack(after), torch.stack(again))
    close(model.w.detach(), resumed_model.w.detach())
    # And the first step, by hand: w1 = w0 − α·sign(w0 − c_first).
    single = Fish(inner_lr=alpha)
    one = Quadratic(w0)
    single.inner_loop(one, point_batches((targets[first],)), 0)
    close(one.w.detach(), [w0 - alpha * math.copysign(1.0, w0 - targets[first])], atol=1e-6)


# ------------------------------------------------------------------------------------------
# Fishr
# ------------------------------------------------------------------------------------------


def closed_form_grads(model: TinyNet, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample (weight, bias) gradients of proj: (1/n_i) Σ_t (softmax(z_t) − e_{y_t}) h_tᵀ."""
    with torch.no_grad():
        hidden = torch.tanh(model.first(batch.input_features))
        probabilities = torch.softmax(model.proj(hidden), dim=-1)
    weights, biases = [], []
    for i in range(batch.labels.shape[0]):
        mask = (batch.labels[i] != -100).float()
        onehot = F.one_hot(batch.labels[i].clamp(min=0), 5).float()
        residual = (probabilities[i] - onehot) * mask[:, None] / mask.sum()
        weights.append(residual.T @ hidden[i])
        biases.append(residual.sum(dim=0))
    return torch.stack(weights), torch.stack(biases)


def population_variance(samples: torch.Tensor) -> torch.Tensor:
    flat = samples.reshape(samples.shape[0], -1)
    return ((flat - flat.mean(dim=0)) ** 2).mean(dim=0)


def test_fishr_penalty_of_known_per_sample_gradients() -> None:
    # Domain A: samples (1, 2), (3, 2) → variance (1, 0); domain B: (0, 0), (0, 4) → (0, 4).
    var_a = gradient_variance({"p": torch.tensor([[1.0, 2.0], [3.0, 2.0]])})
    var_b = gradient_variance({"p": torch.tensor([[0.0, 0.0], [0.0, 4.0]])})
    close(var_a, [1.0, 0.0])
    close(var_b, [0.0, 4.0])
    # v̄ = (0.5, 2): ‖v_A − v̄‖² = 0.25 + 4 = 4.25 = ‖v_B − v̄‖²; over 2 entries and 2 domains 2.125.
    close(fishr_penalty([var_a, var_b]), 2.125)
    close(fishr_penalty([var_a, var_a.clone()]), 0.0)
    close(fishr_penalty([var_a]), 0.0)


def test_fishr_per_sample_gradients_match_the_closed_form() -> None:
    model, batches = TinyNet(), tiny_batches()
    targets = penalty_targets(model, r"^proj\.(weight|bias)$")
    assert [t.name for t in targets] == ["proj.bias", "proj.weight"]
    loss, grads = per_sample_gradients(model, batches[0], targets, create_graph=False)
    weights, biases = closed_form_grads(model, batches[0])
    close(grads["proj.weight"], weights)
    close(grads["proj.bias"], biases)
    close(loss, model(input_features=batches[0].input_features, labels=batches[0].labels).loss.detach())


def test_fishr_penalty_on_two_domains_matches_hand_computation() -> None:
    model, batches = TinyNet(), tiny_batches()
    fishr = Fishr(penalty_weight=2.0, penalty_anneal_steps=0, ema=0.0, penalty_params=r"^proj\.weight$")
    variances = [population_variance(closed_form_grads(model, b)[0]) for b in batches]
    nll = sum(model(input_features=b.input_features, labels=b.labels).loss for b in batches) / 2
    # Two domains: v̄ = (v_A + v_B)/2, so (1/2) Σ_d ‖v_d − v̄‖²/P = ‖v_A − v_B‖²/(4P).
    penalty = (variances[0] - variances[1]).pow(2).mean() / 4
    loss = fishr.step(model, batches, 0)
    assert penalty > 0
    close(fishr.last_penalty, penalty, atol=1e-9)
    close(loss, nll.detach() + 2.0 * penalty)


def test_fishr_penalty_is_zero_when_domain_variances_are_equal() -> None:
    model = TinyNet()
    domain_a = tiny_batches(sizes=(4,))[0]
    order = torch.tensor([2, 0, 3, 1])  # the same utterances, shuffled: same variance
    domain_b = Batch(domain_a.input_features[order], domain_a.labels[order], domain_a.ids, "other")
    reference = copy.deepcopy(model)
    Fishr(penalty_weight=10.0, penalty_anneal_steps=0, ema=0.0, penalty_params=r"^proj\.weight$").step(
        model, [domain_a, domain_b], 0
    )
    ERMJoint().step(reference, [domain_a, domain_b], 0)
    for got, want in zip(grads_of(model), grads_of(reference), strict=True):
        close(got, want)


def test_fishr_gradient_is_exact_including_the_penalty() -> None:
    """Fishr's gradient equals autograd through per-sample gradients computed one by one."""
    model, batches = TinyNet(), tiny_batches(seed=1)
    reference = copy.deepcopy(model)
    weight = 3.0
    Fishr(
        penalty_weight=weight, penalty_anneal_steps=0, ema=0.0, penalty_params=r"^proj\.(weight|bias)$"
    ).step(model, batches, 0)
    losses, variances = [], []
    proj = [reference.proj.bias, reference.proj.weight]
    for batch in batches:
        losses.append(reference(input_features=batch.input_features, labels=batch.labels).loss)
        samples = []
        for i in range(batch.labels.shape[0]):
            single = reference(input_features=batch.input_features[i : i + 1], labels=batch.labels[i : i + 1])
            grads = torch.autograd.grad(single.loss, proj, create_graph=True)
            samples.append(torch.cat([g.reshape(-1) for g in grads]))
        variances.append(population_variance(torch.stack(samples)))
    objective = (losses[0] + losses[1]) / 2 + weight * (variances[0] - variances[1]).pow(2).mean() / 4
    objective.backward()
    erm = copy.deepcopy(reference)
    erm.zero_grad()
    ERMJoint().step(erm, batches, 0)
    assert not torch.allclose(reference.first.weight.grad, erm.first.weight.grad)  # the penalty matters
    for got, want in zip(grads_of(model), grads_of(reference), strict=True):
        close(got, want, atol=1e-6)


def test_fishr_ema_annealing_and_state_round_trip() -> None:
    fishr = Fishr(ema=0.5, penalty_weight=5.0, penalty_anneal_steps=1)
    # m = 0.5·0 + 0.5·(2, 4) = (1, 2); returned m/(1 − 0.5) = (2, 4).
    close(fishr.smoothed("a", torch.tensor([2.0, 4.0])), [2.0, 4.0])
    # m = 0.5·(1, 2) + 0.5·(4, 0) = (2.5, 1); returned (5, 2).
    resumed = Fishr(ema=0.5)
    resumed.load_state_dict(fishr.state_dict())
    close(fishr.smoothed("a", torch.tensor([4.0, 0.0])), [5.0, 2.0])
    close(resumed.smoothed("a", torch.tensor([4.0, 0.0])), [5.0, 2.0])
    assert fishr.weight_at(0) == 0.0 and fishr.weight_at(1) == 5.0

    model, batches = TinyNet(), tiny_batches()
    annealed = Fishr(penalty_weight=5.0, penalty_anneal_steps=1, penalty_params=r"^proj\.weight$")
    reference = copy.deepcopy(model)
    annealed.step(model, batches, 0)  # λ = 0: the ERM gradient, but the EMA is fed
    ERMJoint().step(reference, batches, 0)
    for got, want in zip(grads_of(model), grads_of(reference), strict=True):
        close(got, want)
    assert sorted(annealed.state_dict()["ema"]) == ["dom0", "dom1"]
    with pytest.raises(ValueError, match="one batch per distinct domain"):
        annealed.step(model, [batches[0], batches[0]], 1)


def tiny_whisper(decoder_layers: int = 1) -> WhisperForConditionalGeneration:
    torch.manual_seed(0)
    config = WhisperConfig(
        vocab_size=60,
        num_mel_bins=80,
        d_model=16,
        encoder_layers=1,
        decoder_layers=decoder_layers,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_source_positions=50,
        max_target_positions=16,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
        suppress_tokens=[],
        begin_suppress_tokens=[],
    )
    return WhisperForConditionalGeneration(config)


def lora(model: torch.nn.Module) -> torch.nn.Module:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=2, lora_alpha=4, target_modules=["q_proj", "v_proj", "fc1", "fc2"], lora_dropout=0.0
    )
    return get_peft_model(model, config)


def test_fishr_default_targets_the_last_decoder_fc2_also_under_peft() -> None:
    plain = tiny_whisper(decoder_layers=2)
    targets = penalty_targets(plain, Fishr().penalty_params)
    assert [t.name for t in targets] == ["model.decoder.layers.1.fc2.weight"]
    assert targets[0].module is plain.model.decoder.layers[1].fc2
    wrapped = lora(tiny_whisper(decoder_layers=2))
    targets = penalty_targets(wrapped, Fishr().penalty_params)
    assert [t.name for t in targets] == ["model.decoder.layers.1.fc2.weight"]
    assert targets[0].module is wrapped.base_model.model.model.decoder.layers[1].fc2.base_layer
    every_layer = penalty_targets(plain, r"decoder\.layers\.\d+\.fc2\.weight$")
    assert len(every_layer) == 2
    with pytest.raises(ValueError, match="matches no nn.Linear"):
        penalty_targets(plain, r"no_such_layer")


# ------------------------------------------------------------------------------------------
# GGA
# ------------------------------------------------------------------------------------------


def test_gradient_agreement_min_and_mean() -> None:
    # g1 = (1, 0), g2 = (0, 1), g3 = (1, 1), each split into two one-element "parameters".
    grads = [
        [torch.tensor([1.0]), torch.tensor([0.0])],
        [torch.tensor([0.0]), torch.tensor([1.0])],
        [torch.tensor([1.0]), torch.tensor([1.0])],
    ]
    # cos12 = 0, cos13 = cos23 = 1/√2.
    assert gradient_agreement(grads, "min") == pytest.approx(0.0)
    assert gradient_agreement(grads, "mean") == pytest.approx(2 / math.sqrt(2) / 3)


def test_gga_acceptance_rule_on_a_constructed_case() -> None:
    """Two domains with c₁ = (1, 0), c₂ = (0, 1) at w = (0, 0): cos = 0 and L = 0.5.

    At w = (−s, −s): g₁ = (−1−s, −s), g₂ = (−s, −1−s), cos = 2s(1+s)/((1+s)² + s²) and
    L = ½((1+s)² + s²). Candidates, τ = 0.1:
      0: (+0.5, +0.5)  cos = −1                          → rejected (agreement)
      1: s = 3         cos = 0.96,   L = 12.5            → rejected (loss)
      2: s = 0.05      cos = 0.0950, L = 0.5525 (+0.0525) → accepted
      3: s = 0.1       cos = 0.1803, L = 0.61 (+0.0575 over the last accepted) → accepted
      4: s = 0.08      cos = 0.1473 < 0.1803             → rejected (agreement)
    Candidate 3 is 0.11 above the start: the tolerance is relative to the last accepted point.
    """
    candidates = [(0.5, 0.5), (-3.0, -3.0), (-0.05, -0.05), (-0.1, -0.1), (-0.08, -0.08)]
    gga = GGA(num_candidates=len(candidates), anneal_steps=1, loss_tolerance=0.1)
    gga.perturbation = lambda params, step, k: [torch.tensor(candidates[k])]
    model = Quadratic(0.0, 0.0)
    loss = gga.step(model, point_batches((1.0, 0.0), (0.0, 1.0)), 0)
    assert gga.last_search["accepted"] == 3
    assert gga.last_search["agreement"] == pytest.approx(0.22 / 1.22, abs=1e-6)
    assert gga.last_search["loss"] == pytest.approx(0.61, abs=1e-6)
    close(model.w.detach(), [-0.1, -0.1])
    close(model.w.grad, [-0.6, -0.6])  # mean of (w − c₁, w − c₂) at the accepted point
    close(loss, 0.61)

    strict = GGA(num_candidates=len(candidates), anneal_steps=1, loss_tolerance=0.0)
    strict.perturbation = gga.perturbation
    model = Quadratic(0.0, 0.0)
    strict.step(model, point_batches((1.0, 0.0), (0.0, 1.0)), 0)
    assert strict.last_search["accepted"] == -1  # nothing agrees better without a higher loss
    close(model.w.detach(), [0.0, 0.0])


def test_gga_accepts_the_best_agreement_when_loss_is_unconstrained() -> None:
    model, batches = TinyNet(), tiny_batches(seed=2)
    gga = GGA(num_candidates=8, noise_scale=0.3, loss_tolerance=1e9, anneal_steps=1, seed=5)
    params = list(model.parameters())
    origin = [p.detach().clone() for p in params]

    def agreement_at(shift: list[torch.Tensor]) -> float:
        probe = copy.deepcopy(model)
        with torch.no_grad():
            for p, theta, delta in zip(probe.parameters(), origin, shift, strict=True):
                p.copy_(theta + delta)
        flat = []
        for b in batches:
            loss = probe(input_features=b.input_features, labels=b.labels).loss
            flat.append(
                torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(probe.parameters()))])
            )
        return float(F.cosine_similarity(flat[0], flat[1], dim=0))

    scores = [agreement_at(gga.perturbation(params, 0, k)) for k in range(8)]
    start = agreement_at([torch.zeros_like(p) for p in params])
    gga.step(model, batches, 0)
    best = max(range(8), key=scores.__getitem__)
    assert gga.last_search["accepted"] == (best if scores[best] > start else -1)
    assert gga.last_search["agreement"] == pytest.approx(max(start, *scores), abs=1e-5)


def test_gga_is_seeded_deterministic_and_plain_erm_after_annealing() -> None:
    model, batches = TinyNet(), tiny_batches()
    params = list(model.parameters())
    gga = GGA(num_candidates=6, noise_scale=0.05, loss_tolerance=10.0, anneal_steps=1, seed=1)
    noise = gga.perturbation(params, 0, 0)
    assert all(n.abs().max() <= 0.05 for n in noise)
    assert all(
        torch.equal(a, b)
        for a, b in zip(noise, GGA(seed=1, noise_scale=0.05).perturbation(params, 0, 0), strict=True)
    )
    assert not torch.equal(noise[0], GGA(seed=2, noise_scale=0.05).perturbation(params, 0, 0)[0])
    assert not torch.equal(noise[0], gga.perturbation(params, 0, 1)[0])
    assert not torch.equal(noise[0], gga.perturbation(params, 1, 0)[0])

    twin = copy.deepcopy(model)
    gga.step(model, batches, 0)
    again = GGA(num_candidates=6, noise_scale=0.05, loss_tolerance=10.0, anneal_steps=1, seed=1)
    again.step(twin, batches, 0)
    assert gga.last_search == again.last_search
    for a, b in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(a, b) and torch.equal(a.grad, b.grad)

    after, reference = copy.deepcopy(model), copy.deepcopy(model)
    after.zero_grad()
    reference.zero_grad()
    gga.step(after, batches, 1)  # step 1 is outside the 1-step window: plain ERM
    ERMJoint().step(reference, batches, 1)
    for got, want in zip(grads_of(after), grads_of(reference), strict=True):
        close(got, want)
    with pytest.raises(ValueError, match=">= 2 per step"):
        gga.step(model, batches[:1], 0)


# ------------------------------------------------------------------------------------------
# Loop binding and a smoke test on a real (tiny) Whisper
# ------------------------------------------------------------------------------------------


class Recording(ERMJoint):
    """ERM that records the step indices it saw, as resumable state."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def step(self, model, batches, step_index):
        self.seen.append(step_index)
        return super().step(model, batches, step_index)

    def state_dict(self):
        return {"seen": list(self.seen)}

    def load_state_dict(self, state):
        self.seen = list(state["seen"])


def test_bind_to_loop_gives_the_step_index_and_checkpoints_method_state(tmp_path) -> None:
    source = lambda step: point_batches((1.0,), (2.0,))  # noqa: E731
    settings = TrainSettings(steps=3, learning_rate=0.1, checkpoint_every=1)
    first = Recording()
    model = Quadratic(0.0)
    train(model, [model.w], source, settings, tmp_path, CPU, **bind_to_loop(first, settings))
    assert first.seen == [0, 1, 2]
    # The checkpoint left after step index 1 makes a second run resume there with the state
    # saved then ([0, 1]) and run only step index 2.
    resumed = Recording()
    model = Quadratic(0.0)
    train(model, [model.w], source, settings, tmp_path, CPU, **bind_to_loop(resumed, settings))
    assert resumed.seen == [0, 1, 2]
    defaults = bind_to_loop(ERMJoint(), settings)["optimizer_factory"]([model.w])
    assert isinstance(defaults, torch.optim.AdamW) and defaults.param_groups[0]["lr"] == 0.1


SMOKE_HYPERPARAMETERS = {
    "erm": {},
    "fish": {"inner_lr": 1e-2},
    "fishr": {"penalty_anneal_steps": 1},
    "gga": {"anneal_steps": 1, "num_candidates": 2, "noise_scale": 1e-3},
}


@pytest.mark.parametrize("mode", ["full", "lora"])
@pytest.mark.parametrize("name", sorted(DG_METHODS))
def test_two_loop_steps_on_a_tiny_whisper(name: str, mode: str, tmp_path) -> None:
    model = tiny_whisper()
    if mode == "lora":
        model = lora(model)
    trainable = [p for p in model.parameters() if p.requires_grad]
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    before = [p.detach().clone() for p in trainable]
    generator = torch.Generator().manual_seed(0)

    def source(step: int) -> list[Batch]:
        batches = []
        for domain in ("ko-en", "de-en"):
            labels = torch.randint(3, 60, (2, 5), generator=generator)
            labels[1, -2:] = -100
            features = torch.randn(2, 80, 100, generator=generator)
            batches.append(Batch(features, labels, [f"{domain}-{step}-{i}" for i in range(2)], domain))
        return batches

    method = make_dg_method(name, **SMOKE_HYPERPARAMETERS[name])
    settings = TrainSettings(steps=2, learning_rate=1e-3, checkpoint_every=100)
    history = train(model, trainable, source, settings, tmp_path, CPU, **bind_to_loop(method, settings))
    assert len(history) == 2 and all(math.isfinite(h["loss"]) for h in history)
    assert any(not torch.equal(a, b.detach()) for a, b in zip(before, trainable, strict=True))
    for n, p in model.named_parameters():
        if n in frozen:
            assert torch.equal(p, frozen[n]), f"{name} moved frozen weight {n}"
    if name == "fishr":
        assert sorted(method.state_dict()["ema"]) == ["de-en", "ko-en"]
        assert math.isfinite(method.last_penalty)
    if name == "gga":
        assert method.last_search["step"] == 0
