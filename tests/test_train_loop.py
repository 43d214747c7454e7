"""The shared training loop: resume after a kill, NaN guard, logged progress."""

from __future__ import annotations

import pytest
import torch

from csbench.data.manifest import read_manifest
from csbench.models.loading import load_processor, load_whisper
from csbench.train.batches import Batch
from csbench.train.ctc import attach_ctc_head
from csbench.train.finetune import FinetuneJob, run_finetune
from csbench.train.loop import NonFiniteLossError, TrainSettings, train


def _finetune(tiny_base, speech, checkpoint_dir, steps: int, mode: str = "full", token_corruption: float = 0.0,
              ctc_weight: float = 0.0):
    job = FinetuneJob(mode=mode, settings=TrainSettings(steps=steps, learning_rate=1e-3, warmup_steps=1,
                                                        checkpoint_every=2, seed=3), batch_size=4,
                      token_corruption=token_corruption, ctc_weight=ctc_weight)
    model, processor = load_whisper(tiny_base), load_processor(tiny_base)
    trained, history = run_finetune(model, processor, read_manifest(speech["train"]), job, checkpoint_dir,
                                    torch.device("cpu"))
    return trained, history


@pytest.mark.parametrize(("mode", "token_corruption", "ctc_weight"),
                         [("full", 0.0, 0.0), ("lora", 0.0, 0.0), ("full", 0.3, 0.0), ("full", 0.0, 0.3)])
def test_resumed_training_equals_uninterrupted(tiny_base, speech, tmp_path, mode, token_corruption,
                                               ctc_weight) -> None:
    """Also with decoder-input corruption (its random draws resume with the checkpointed RNG)
    and with the CTC head (its weights and optimizer state are in the checkpoint)."""
    extra = {"token_corruption": token_corruption, "ctc_weight": ctc_weight}
    uninterrupted, history = _finetune(tiny_base, speech, tmp_path / "a", steps=6, mode=mode, **extra)
    # "Kill" after step 4: a 4-step run leaves a checkpoint at step 2 and 4... except the last
    # step, which is never checkpointed (the output is). Take the step-4 checkpoint of a run
    # that was asked for 6 steps by running 6 steps with a crash injected after step 4.
    _finetune(tiny_base, speech, tmp_path / "b", steps=6, mode=mode, **extra)  # warm caches
    crashed_dir = tmp_path / "c"
    with pytest.raises(RuntimeError, match="injected"):
        _crash_after(tiny_base, speech, crashed_dir, steps=6, crash_at=5, mode=mode, **extra)
    resumed, resumed_history = _finetune(tiny_base, speech, crashed_dir, steps=6, mode=mode, **extra)
    assert [h["step"] for h in resumed_history] == list(range(1, 7))
    assert resumed_history == history
    for (name, a), (_, b) in zip(uninterrupted.named_parameters(), resumed.named_parameters(), strict=True):
        assert torch.equal(a, b), name


def _crash_after(tiny_base, speech, checkpoint_dir, steps, crash_at, mode, **extra):
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
        _finetune(tiny_base, speech, checkpoint_dir, steps=steps, mode=mode, **extra)
    finally:
        finetune_module.make_batch = original


def test_token_corruption_replaces_text_tokens_only(tiny_base, speech) -> None:
    """Prompt, <|endoftext|> and padding stay; text tokens become random text tokens; labels stay."""
    from transformers.models.whisper.modeling_whisper import shift_tokens_right

    from csbench.train.batches import FeatureStore, make_batch, matrix_language
    from csbench.train.corruption import corrupted_decoder_inputs

    model, processor = load_whisper(tiny_base), load_processor(tiny_base)
    utterances = read_manifest(speech["train"])[:8]
    labels = make_batch(FeatureStore(processor, utterances), utterances, matrix_language).labels
    config = model.config
    clean = shift_tokens_right(labels, config.pad_token_id, config.decoder_start_token_id)
    before = labels.clone()
    torch.manual_seed(0)
    assert torch.equal(corrupted_decoder_inputs(labels, config, 0.0), clean)
    corrupted = corrupted_decoder_inputs(labels, config, 1.0)
    assert torch.equal(labels, before)
    text = clean < config.eos_token_id
    assert int(text.sum()) > 8 * 3  # the test means something: each utterance has text
    assert torch.equal(corrupted[~text], clean[~text])  # prompt, end of text, padding
    assert bool((corrupted[text] < config.eos_token_id).all())
    assert float((corrupted[text] != clean[text]).float().mean()) > 0.9
    torch.manual_seed(0)
    half = corrupted_decoder_inputs(labels, config, 0.5)
    changed = float((half[text] != clean[text]).float().mean())
    assert 0.3 < changed < 0.7, changed


def test_token_corruption_changes_what_is_trained(tiny_base, speech, tmp_path) -> None:
    _, clean = _finetune(tiny_base, speech, tmp_path / "clean", steps=3)
    _, corrupted = _finetune(tiny_base, speech, tmp_path / "corrupted", steps=3, token_corruption=0.5)
    assert clean[0]["loss"] != corrupted[0]["loss"]


def test_ctc_loss_scores_the_text_tokens_and_the_head_leaves_no_trace(tiny_base, speech, tmp_path) -> None:
    """The CTC targets are the labels' text tokens only; the loss equals torch's CTC on them
    computed by hand; training with it changes the loss and run_finetune gives the trained model
    the head; detaching leaves the state dict
    (what save_pretrained writes) exactly a plain Whisper's."""
    from torch.nn import functional

    from csbench.train.batches import FeatureStore, make_batch, matrix_language
    from csbench.train.ctc import HEAD, ctc_loss, detach_ctc_head

    model, processor = load_whisper(tiny_base), load_processor(tiny_base)
    plain_keys = set(model.state_dict())
    attach_ctc_head(model, seed=0)
    assert {key for key in model.state_dict() if key.startswith(HEAD)} == {f"{HEAD}.weight", f"{HEAD}.bias"}
    utterances = read_manifest(speech["train"])[:4]
    batch = make_batch(FeatureStore(processor, utterances), utterances, matrix_language)
    encoder = model.model.encoder(batch.input_features).last_hidden_state
    loss = ctc_loss(model, encoder, batch.labels)
    eos = model.config.eos_token_id
    log_probs = functional.log_softmax(getattr(model, HEAD)(encoder), dim=-1)
    by_hand = []
    for row, labels in enumerate(batch.labels):
        text = [int(t) for t in labels if 0 <= t < eos]
        assert len(text) > 3 and all(t < eos for t in text)
        by_hand.append(functional.ctc_loss(log_probs[row], torch.tensor(text), torch.tensor(encoder.shape[1]),
                                           torch.tensor(len(text)), blank=eos, reduction="sum") / len(text))
    assert torch.isfinite(loss) and float(loss.detach()) > 0
    torch.testing.assert_close(loss, torch.stack(by_hand).mean())
    detach_ctc_head(model)
    assert set(model.state_dict()) == plain_keys

    _, plain_history = _finetune(tiny_base, speech, tmp_path / "plain", steps=2)
    joint, joint_history = _finetune(tiny_base, speech, tmp_path / "ctc", steps=2, ctc_weight=0.5)
    assert plain_history[0]["loss"] != joint_history[0]["loss"]
    assert hasattr(joint, HEAD)


def test_ctc_weight_anneals_linearly_to_zero() -> None:
    from csbench.train.ctc import ctc_weight_at

    assert [ctc_weight_at(step, 0.4, 0) for step in (0, 10, 10_000)] == [0.4, 0.4, 0.4]
    assert [ctc_weight_at(step, 0.4, 100) for step in (0, 50, 100, 150)] == pytest.approx([0.4, 0.2, 0.0, 0.0])


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


# ------------------------------------------------------- preemption and damaged checkpoints


def _signal_at(step_to_signal: int, number: int):
    """A FinetuneJob batch hook that sends this process `number` while building that step."""
    import os

    import csbench.train.finetune as finetune_module

    original = finetune_module.make_batch
    calls = {"n": 0}

    def signalling(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == step_to_signal + 1:
            os.kill(os.getpid(), number)
        return original(*args, **kwargs)

    return finetune_module, original, signalling


@pytest.mark.parametrize("signal_name", ["SIGUSR1", "SIGTERM"])
def test_a_stop_signal_checkpoints_the_step_and_a_rerun_resumes_exactly(
    tiny_base, speech, tmp_path, signal_name
) -> None:
    """What `sbatch --signal=USR1@...` or a preemption's SIGTERM does: the step in flight
    finishes, is checkpointed (between the regular checkpoints at 2 and 4), the job stops with
    one line, and the rerun ends with the uninterrupted run's weights."""
    import signal

    from csbench.errors import TrainingInterrupted

    uninterrupted, history = _finetune(tiny_base, speech, tmp_path / "a", steps=6)
    handler_before = signal.getsignal(getattr(signal, signal_name))
    module, original, signalling = _signal_at(2, getattr(signal, signal_name))
    module.make_batch = signalling
    try:
        with pytest.raises(TrainingInterrupted) as stopped:
            _finetune(tiny_base, speech, tmp_path / "b", steps=6)
    finally:
        module.make_batch = original
    message = str(stopped.value)
    assert f"{signal_name} received: stopped after step 3 of 6" in message and "\n" not in message
    assert sorted(p.name for p in (tmp_path / "b").glob("step-*.pt")) == ["step-00000002.pt", "step-00000003.pt"]
    assert signal.getsignal(getattr(signal, signal_name)) == handler_before  # the loop's handler is gone
    resumed, resumed_history = _finetune(tiny_base, speech, tmp_path / "b", steps=6)
    assert resumed_history == history
    for (name, a), (_, b) in zip(uninterrupted.named_parameters(), resumed.named_parameters(), strict=True):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("damage", ["truncated", "corrupt", "no record"])
def test_a_damaged_checkpoint_falls_back_to_the_previous_one(tiny_base, speech, tmp_path, damage, caplog) -> None:
    """A checkpoint cut short by a kill, altered on disk, or written without its record is
    never loaded: the one before it is, with a warning, and the result is still exact."""
    uninterrupted, history = _finetune(tiny_base, speech, tmp_path / "a", steps=6)
    crashed = tmp_path / "c"
    with pytest.raises(RuntimeError, match="injected"):
        _crash_after(tiny_base, speech, crashed, steps=6, crash_at=5, mode="full")
    latest = crashed / "step-00000004.pt"
    data = latest.read_bytes()
    if damage == "truncated":
        latest.write_bytes(data[: len(data) // 2])
    elif damage == "corrupt":
        latest.write_bytes(data[:1000] + bytes(b ^ 0xFF for b in data[1000:1016]) + data[1016:])
    else:
        latest.with_suffix(".json").unlink()
    with caplog.at_level("WARNING", logger="csbench.train.checkpoint"):
        resumed, resumed_history = _finetune(tiny_base, speech, crashed, steps=6)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "step-00000004.pt" in warnings[0] and "trying the one before it" in warnings[0]
    assert resumed_history == history
    for (name, a), (_, b) in zip(uninterrupted.named_parameters(), resumed.named_parameters(), strict=True):
        assert torch.equal(a, b), name


def test_checkpoints_load_without_running_code(tmp_path) -> None:
    """weights_only loading: a checkpoint holding an arbitrary object is refused (skipped with
    a warning), never unpickled."""
    from csbench.train.checkpoint import load_checkpoint, save_checkpoint

    save_checkpoint(tmp_path, 1, {"step": 1, "weights": torch.ones(2)})
    assert torch.equal(load_checkpoint(tmp_path)["weights"], torch.ones(2))
    save_checkpoint(tmp_path, 2, {"step": 2, "payload": _Unpicklable()})
    assert load_checkpoint(tmp_path)["step"] == 1  # step 2 is refused, step 1 is used


class _Unpicklable:
    """An object weights_only loading must refuse."""


@pytest.mark.parametrize(("text", "seconds"), [("45:07", 2707.0), ("1:02:03", 3723.0), ("2-00:00:10", 172810.0),
                                               ("UNLIMITED", None), ("INVALID", None), ("", None)])
def test_slurm_time_left_is_parsed(text, seconds) -> None:
    from csbench.train.preemption import parse_slurm_duration

    assert parse_slurm_duration(text) == seconds


def test_the_deadline_comes_from_squeue_inside_a_slurm_job(tmp_path, monkeypatch) -> None:
    import os
    import time

    from csbench.train.preemption import slurm_deadline

    squeue = tmp_path / "squeue"
    squeue.write_text('#!/bin/sh\n[ "$3" = "4242" ] && echo "1:02:03"\n')
    squeue.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    assert slurm_deadline() is None  # not a SLURM job
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    assert slurm_deadline() - time.monotonic() == pytest.approx(3723, abs=5)


def test_a_near_time_limit_stops_with_a_checkpoint_and_the_rerun_resumes_exactly(
    tiny_base, speech, tmp_path, monkeypatch
) -> None:
    """The job's SLURM time limit is already within the margin: training stops after its first
    step with a checkpoint of it, and the rerun (outside SLURM) ends with the uninterrupted
    weights."""
    import time

    import csbench.train.preemption as preemption
    from csbench.errors import TrainingInterrupted

    uninterrupted, history = _finetune(tiny_base, speech, tmp_path / "a", steps=6)
    monkeypatch.setattr(preemption, "slurm_deadline", lambda: time.monotonic() + 1)
    with pytest.raises(TrainingInterrupted, match=r"the time limit is -?\d+ s away: stopped after step 1 of 6"):
        _finetune(tiny_base, speech, tmp_path / "b", steps=6)
    monkeypatch.setattr(preemption, "slurm_deadline", lambda: None)
    resumed, resumed_history = _finetune(tiny_base, speech, tmp_path / "b", steps=6)
    assert resumed_history == history
    for (name, a), (_, b) in zip(uninterrupted.named_parameters(), resumed.named_parameters(), strict=True):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("mode", ["full", "lora"])
def test_cpu_training_attention_is_eager_and_computes_the_same_loss(tiny_base, speech, mode) -> None:
    """Training on a CPU swaps SDPA for eager attention (speed); the loss must not notice."""
    from csbench.train.batches import FeatureStore, make_batch, matrix_language
    from csbench.train.finetune import LoraSettings, prepare
    from csbench.train.loop import use_cpu_training_attention

    model, processor = load_whisper(tiny_base), load_processor(tiny_base)
    model, _ = prepare(model, mode, LoraSettings())
    inner = model.get_base_model() if mode == "lora" else model
    assert inner.config._attn_implementation == "sdpa"
    utterances = read_manifest(speech["train"])[:4]
    batch = make_batch(FeatureStore(processor, utterances), utterances, matrix_language)
    with torch.no_grad():
        sdpa = model(input_features=batch.input_features, labels=batch.labels).loss
        use_cpu_training_attention(model, torch.device("cpu"))
        assert inner.config._attn_implementation == "eager"
        eager = model(input_features=batch.input_features, labels=batch.labels).loss
    assert torch.allclose(sdpa, eager, atol=1e-5), (float(sdpa), float(eager))


def test_a_long_encoder_keeps_sdpa_attention_on_cpu() -> None:
    """A real Whisper's 1,500 encoder positions train faster in SDPA than in eager attention."""
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    from csbench.train.loop import EAGER_ATTENTION_MAX_POSITIONS, use_cpu_training_attention

    config = WhisperConfig(d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                           decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, vocab_size=64,
                           pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1,
                           max_source_positions=1500)
    assert config.max_source_positions > EAGER_ATTENTION_MAX_POSITIONS
    model = WhisperForConditionalGeneration(config)
    use_cpu_training_attention(model, torch.device("cpu"))
    assert model.config._attn_implementation == "sdpa"
