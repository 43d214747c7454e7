"""Joint CTC-attention loss for pretraining the local base (an auxiliary head on the encoder).

Why: the tiny base's attention decoder can lower its loss for a long while without listening
(the text of template sentences is predictable from its prefix), and whether a run leaves
that plateau before its last step depends on the seed. Measured in the workflow, bf16 on a
2-core AVX512-BF16 CPU without AMX (4 Dec 2026, 4,000 steps, 4,000 utterances per language):
seeds 0 / 1 / 2 reached dev CER 0.166 / 0.672 / 0.123; seed 1's loss stayed at 0.55-0.6
from step 2,500 on and it decoded its own training utterances at CER 0.56-0.76, fluent
template sentences unrelated to the audio, where seeds 0 and 2 left the plateau between
steps 2,000 and 2,500. A CTC loss on the encoder output trains the encoder to emit the
transcript's tokens in order, whatever the decoder does, which is what the cross-attention
needs to align to:
Kim, Hori & Watanabe 2017 ("Joint CTC-attention based end-to-end speech recognition using
multi-task learning") add it for exactly this, faster and more robust alignment learning;
ESPnet trains its attention models with it (CTC weight 0.3 in its recipes).

Measured (same machine, data and 4,000 steps, in the workflow): at a constant weight of 0.3
seeds 0 / 1 / 2 reached 0.292 / 0.298 / 0.264 (templates right, slot nouns confused: no seed
stuck, every seed slower than where the plain loss had succeeded; per step ~the same time);
0.1 gave seed 1 0.409; 0.3 over 5,000 steps gave seeds 0 / 1 / 2 0.174 / 0.230 / 0.254 (no
seed stuck, one within 0.20); 0.5 annealed to 0 over the first 2,000 steps gave seed 1 0.405,
and 0.3 annealed to 0 over all 4,000 steps 0.285. So it is off by default
(`local_base.ctc_weight`).

The head exists only while pretraining: `run_finetune` attaches it when the job's CTC weight
is on, as a submodule of the model (so the optimizer, the checkpoints and an exact resume
include it), and `pretrain_local_base` removes it before the base is saved,
which stays a plain `WhisperForConditionalGeneration`. `torch.nn.functional.ctc_loss` does the
work; what is written here is only the head and the choice of targets (the text tokens of
the labels, without the prompt, end token and padding). The loss the training log and
`training_history.json` show is the mixed one, (1 - w) x attention + w x CTC, so with the head
on it is not comparable with a plain run's.
"""

from __future__ import annotations

import torch
from torch.nn import functional

from csbench.models.tokenizer import text_token_mask

HEAD = "ctc_head"


def attach_ctc_head(model: torch.nn.Module, seed: int) -> None:
    """Add a linear CTC head (text vocabulary + blank) on the encoder output, initialized from
    `seed` without moving the global RNG (the model's own init and the training loop's RNG stay
    what they are without the head)."""
    config = model.config
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = torch.nn.Linear(config.d_model, int(config.eos_token_id) + 1)
    setattr(model, HEAD, head.to(next(model.parameters()).device))


def detach_ctc_head(model: torch.nn.Module) -> None:
    """Remove the head (before saving or decoding the base)."""
    if hasattr(model, HEAD):
        delattr(model, HEAD)


def ctc_weight_at(step: int, weight: float, anneal_steps: int) -> float:
    """The CTC weight at 0-based `step`: `weight` throughout when `anneal_steps` is 0, else
    falling linearly from `weight` to 0 at `anneal_steps` (and 0 after). Why anneal: the head
    is there to get the decoder listening; the weight it takes from the attention loss also
    slows what comes after (learning the slot nouns; config.yaml has the runs)."""
    if not anneal_steps:
        return weight
    return weight * max(0.0, 1.0 - step / anneal_steps)


def ctc_loss(model: torch.nn.Module, encoder_output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean CTC loss of the head on `encoder_output` (batch, frames, d_model) against the text
    tokens of `labels` (ids below the end token; -100 padding and the prompt dropped). The blank
    is the head's last class. Every encoder frame is an input frame: the window's padding is
    silence, which CTC learns to label blank."""
    head = getattr(model, HEAD)
    blank = int(model.config.eos_token_id)  # the head's last class: one past the text tokens
    log_probs = functional.log_softmax(head(encoder_output).float(), dim=-1).transpose(0, 1)
    text = text_token_mask(labels, model.config)
    targets = labels[text]
    target_lengths = text.sum(dim=1)
    input_lengths = torch.full((labels.shape[0],), log_probs.shape[0], dtype=torch.long, device=labels.device)
    return functional.ctc_loss(
        log_probs, targets, input_lengths, target_lengths, blank=blank, zero_infinity=True
    )
