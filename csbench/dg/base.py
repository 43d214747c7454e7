"""What every domain-generalization (DG) method shares: the interface and small helpers.

A DG method trains ONE model on the union of the seen language pairs, with each pair a
*domain*. Batching is domain-balanced: every step hands the method one
:class:`~csbench.train.batches.Batch` per domain (``batch.domain`` names the pair), and the
method sets the gradients of the trainable parameters. The shared loop in
:mod:`csbench.train.loop` then clips those gradients, applies its optimizer and scheduler, and
checkpoints — exactly as for a per-pair fine-tune, so DG models and fine-tunes differ only in
what the method does inside :meth:`DGMethod.step`.

"Trainable parameters" are always ``[p for p in model.parameters() if p.requires_grad]``: the
whole model for full fine-tuning, the adapter for a peft LoRA model. Methods never touch
frozen weights, which is what makes them work unchanged on a ``PeftModel``.
"""

from __future__ import annotations

import hashlib
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from csbench.errors import DGError

if TYPE_CHECKING:  # the loop imports transformers; config validation should not need it
    from csbench.train.batches import Batch
    from csbench.train.loop import TrainSettings


class DGMethod:
    """Base class: one training step over one batch per domain.

    Subclasses set :attr:`name` and :attr:`HYPERPARAMETERS` (name → default; the registry
    config validation reads), :attr:`LOWER_BOUNDS` (name → (bound, strict): the value must
    exceed the bound, or reach it when not strict), :attr:`CHOICES` (name → allowed values)
    and implement :meth:`step`.
    Hyperparameters are stored as attributes of the same name.
    """

    name: ClassVar[str] = ""
    HYPERPARAMETERS: ClassVar[dict[str, Any]] = {}
    LOWER_BOUNDS: ClassVar[dict[str, tuple[float, bool]]] = {}
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: Extra fp32 copies of the weights the method holds (resource requests, csbench.resources).
    WEIGHT_COPIES: ClassVar[int] = 0
    #: bf16 for the forward passes where the run's precision policy asks for it and the device
    #: computes it natively (set by the driver from `train.loop.autocast_dtype`), so a DG model
    #: trains at the precision of the fine-tunes it is compared with; None: fp32.
    autocast_dtype: torch.dtype | None = None

    @classmethod
    def extra_work(cls, hyperparameters: dict[str, Any], batch_size: int) -> float:
        """Utterance-steps of work beyond ERM's steps × batch, in a whole run (resource requests)."""
        return 0.0

    def __init__(self, **hyperparameters: Any) -> None:
        unknown = sorted(set(hyperparameters) - set(self.HYPERPARAMETERS))
        if unknown:
            raise DGError(
                f"unknown hyperparameter(s) for DG method {self.name!r}: "
                f"{', '.join(map(repr, unknown))}; allowed: "
                f"{', '.join(self.HYPERPARAMETERS) if self.HYPERPARAMETERS else 'none'}"
            )
        for key, default in self.HYPERPARAMETERS.items():
            value = hyperparameters.get(key, default)
            _check_type(self.name, key, value, default)
            setattr(self, key, float(value) if isinstance(default, float) else value)
        for key, (bound, strict) in self.LOWER_BOUNDS.items():
            value = getattr(self, key)
            require(value > bound if strict else value >= bound, self.name,
                    f"{key} must be {'>' if strict else '>='} {bound:g}, got {value}")
        for key, allowed in self.CHOICES.items():
            value = getattr(self, key)
            require(value in allowed, self.name, f"{key} must be one of {', '.join(allowed)}, got {value!r}")

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The resolved hyperparameters (defaults filled in), e.g. for the run's metadata."""
        return {key: getattr(self, key) for key in self.HYPERPARAMETERS}

    def step(self, model: torch.nn.Module, batches: list[Batch], step_index: int) -> torch.Tensor:
        """Set ``.grad`` of the trainable parameters; return the (detached) loss for logging.

        ``step_index`` is the 0-based optimizer step, so that everything random in a method is a
        function of (seed, step) and a resumed run repeats an uninterrupted one.
        """
        raise NotImplementedError

    def optimizer_factory(
        self, params: list[torch.nn.Parameter], learning_rate: float
    ) -> torch.optim.Optimizer | None:
        """The outer optimizer, or None for the loop's default (AdamW at the config's LR)."""
        return None

    def state_dict(self) -> dict[str, Any]:
        """State to checkpoint with the model for exact resumption (none by default)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        if state:
            raise DGError(f"DG method {self.name!r} keeps no state, got keys {sorted(state)}")


def _check_type(method: str, key: str, value: Any, default: Any) -> None:
    """Hyperparameters take the type of their default (an int is fine where a float is)."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise DGError(
            f"DG method {method!r}: hyperparameter {key!r} must be {type(default).__name__}, got {value!r}"
        )


def require(condition: bool, method: str, message: str) -> None:
    """Raise the one-line ValueError used for out-of-range hyperparameters."""
    if not condition:
        raise DGError(f"DG method {method!r}: {message}")


def trainable_parameters(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """The parameters a method may move: those with ``requires_grad`` (a LoRA adapter, or all)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise DGError("the model has no trainable parameters (requires_grad is False everywhere)")
    return params


def forward_precision(batch: Batch, dtype: torch.dtype | None) -> AbstractContextManager:
    """Autocast to `dtype` for a forward pass (nothing when None); backward runs outside it."""
    if dtype is None:
        return nullcontext()
    return torch.autocast(device_type=batch.input_features.device.type, dtype=dtype)


def domain_loss(model: torch.nn.Module, batch: Batch, dtype: torch.dtype | None = None) -> torch.Tensor:
    """The model's own loss on one domain's batch (Whisper: token-mean cross-entropy), in fp32;
    the forward pass under autocast to `dtype` when given."""
    with forward_precision(batch, dtype):
        loss = model(input_features=batch.input_features, labels=batch.labels).loss
    return loss.float()


def erm_backward(model: torch.nn.Module, batches: list[Batch], dtype: torch.dtype | None = None) -> torch.Tensor:
    """ERM-joint's step: the loop's own :func:`~csbench.train.loop.erm_step` (imported lazily)."""
    from csbench.train.loop import erm_step

    return erm_step(model, batches, autocast_dtype=dtype)


def gradients(loss: torch.Tensor, params: list[torch.nn.Parameter]) -> list[torch.Tensor]:
    """d loss / d params, with zeros for parameters the loss does not reach."""
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=True)]


def derived_seed(*parts: object) -> int:
    """A 63-bit seed from (method seed, step, …): stable across runs, platforms and hash seeds."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def bind_to_loop(method: DGMethod, settings: TrainSettings) -> dict[str, Any]:
    """Keyword arguments for :func:`csbench.train.loop.train` that run ``method``.

    ``step_function`` is the method's ``step`` (the loop passes the step index, so everything
    seeded by (seed, step) repeats after a resume); ``method_state`` makes the loop checkpoint
    the method's state (Fishr's running variances); ``optimizer_factory`` is the method's own
    optimizer when it has one (Fish), else the loop's default AdamW.

    Usage: ``train(model, trainable, source, settings, checkpoint_dir, device,
    **bind_to_loop(method, settings))``.
    """

    def optimizer_factory(params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
        optimizer = method.optimizer_factory(params, settings.learning_rate)
        if optimizer is None:  # the loop's own default, for methods without an opinion
            optimizer = torch.optim.AdamW(
                params, lr=settings.learning_rate, weight_decay=settings.weight_decay
            )
        return optimizer

    return {"step_function": method.step, "optimizer_factory": optimizer_factory, "method_state": method}
