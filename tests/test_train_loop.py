"""The shared training loop: resume after a kill, NaN guard, logged progress."""

from __future__ import annotations

import pytest
import torch

from csbench.data.manifest import read_manifest
from csbench.models.loading import load_processor, load_whisper
from csbench.train.batches import Batch
from csbench.train.finetune import FinetuneJob, run_finetune
from csbench.train.loop import NonFiniteLossError, TrainSettings, train


def _finetune(tiny_base, speech, checkpoint_dir, steps: int, mode: str = "full"):
    job = FinetuneJob(mode=mode, settings=TrainSettings(steps=steps, learning_rate=1e-3, warmup_steps=1,
                                                        checkpoint_every=2, seed=3), batch_size=4)
    model, processor = load_whisper(tiny_base), load_processor(tiny_base)
    trained, history = run_finetune(model, processor, read_manifest(speech["train"]), job, checkpoint_dir,
                                    torch.device("cpu"))
    return trained, history


@pytest.mark.parametrize("mode", ["full", "lora"])
def test_resumed_training_equals_uninterrupted(tiny_base, speech, tmp_path, mode) -> None:
    uninterrupted, history = _finetune(tiny_base, speech, tmp_path / "a", steps=6, mode=mode)
    # "Kill" after step 4: a 4-step run leaves a checkpoint at step 2 and 4... except the last
    # step, which is never checkpointed (the output is). Take the step-4 checkpoint of a run
    # that was asked for 6 steps by running 6 steps with a crash injected after step 4.
    _finetune(tiny_base, speech, tmp_path / "b", steps=6, mode=mode)  # warm caches only
    crashed_dir = tmp_path / "c"
    with pytest.raises(RuntimeError, match="injected"):
        _crash_after(tiny_base, speech, crashed_dir, steps=6, crash_at=5, mode=mode)
    resumed, resumed_history = _finetune(tiny_base, speech, crashed_dir, steps=6, mode=mode)
    assert [h["step"] for h in resumed_history] == list(range(1, 7))
    assert resumed_history == history
    for (name, a), (_, b) in zip(uninterrupted.named_parameters(), resumed.named_parameters(), strict=True):
        assert torch.equal(a, b), name


def _crash_after(tiny_base, speech, checkpoint_dir, steps, crash_at, mode):
    import csbench.train.finetune as finetune_module

    original = finetune_module.make_batch
    calls = {"n": 0}

    def crashing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > crash_at:
            raise RuntimeError("injected crash")
        return original(*args, **kwargs)

    finetune_module.make_batch = crashing
    try:
        _finetune(tiny_base, speech, checkpoint_dir, steps=steps, mode=mode)
    finally:
        finetune_module.make_batch = original


def test_nan_loss_names_step_and_batch(tiny_base, tmp_path) -> None:
    model = load_whisper(tiny_base)
    batch = Batch(torch.full((2, 80, 600), float("nan")), torch.tensor([[5, 6], [7, 8]]), ["utt-a", "utt-b"])
    settings = TrainSettings(steps=2, learning_rate=1e-3, seed=0)
    with pytest.raises(NonFiniteLossError) as error:
        train(model, list(model.parameters()), lambda step: [batch], settings, tmp_path, torch.device("cpu"))
    message = str(error.value)
    assert "step 0" in message and "utt-a" in message and "\n" not in message


def test_gpu_out_of_memory_names_the_batch_size_to_lower(tiny_base, tmp_path) -> None:
    """A CUDA OOM inside a step becomes one line with the step, batch size and config key.

    CI has no GPU, so the step raises the exception type PyTorch raises on CUDA OOM; the
    handling under test (the loop's) is the code that runs on a GPU.
    """
    from csbench.train.loop import OutOfMemoryError

    model = load_whisper(tiny_base)
    batch = Batch(torch.zeros((3, 80, 600)), torch.tensor([[5, 6]] * 3), ["utt-a", "utt-b", "utt-c"])

    def exhausting_step(model, batches, step):
        if step == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return torch.tensor(1.0)  # a finite loss and no gradients: the optimizer step is a no-op

    settings = TrainSettings(steps=3, learning_rate=1e-3, seed=0)
    with pytest.raises(OutOfMemoryError) as error:
        train(model, list(model.parameters()), lambda step: [batch], settings, tmp_path, torch.device("cpu"),
              step_function=exhausting_step, batch_size_setting="finetune.batch_size")
    message = str(error.value)
    assert "\n" not in message
    assert "step 1" in message and "3 utterances per batch" in message
    assert "lower finetune.batch_size (now 3)" in message
