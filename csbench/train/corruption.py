"""Decoder-input token corruption for pretraining the local base (teacher forcing with noise).

Why: the local base learns from template sentences, and with teacher forcing its decoder can
lower the training loss without listening: after an utterance's first tokens, the rest of a
transcript it has seen a few epochs is predictable from the text alone. Measured on the
base recipe of 4,000 steps over 2,000 utterances per language, without corruption: the
base of training seed 1 (dev CER 0.72) decoded 20 of its own training utterances per
language at CER 0.73, the hypotheses fluent template sentences unrelated to the audio; with a
warmup-stable-decay schedule its training loss fell to 0.18 and its dev CER stayed at 0.77.
The base of seed 2 (dev CER 0.28) decodes its training utterances at CER 0.15. Which of the
two solutions a run found depended on the seed (dev CER 0.35 / 0.72 / 0.28, seeds 0 / 1 / 2).
The default cures it with more utterances instead (data.monolingual_sizes, 4,000 per
language: 0.25 / 0.31 / 0.26); this corruption, the other cure, is off by default because at
0.3 it slowed seed 2 (0.32 / 0.32 / 0.52; config.yaml has the runs).

Replacing a random fraction of the decoder's *input* tokens (the shifted labels; the labels
themselves stay intact) makes the text prefix unreliable, so the cheapest way to predict the
next token is the audio. It is a variant of decoder-side word dropout (Bowman et al. 2016,
"Generating Sentences from a Continuous Space", replace decoder input words by <unk>;
Sennrich, Haddow & Birch 2016 drop whole target words in their WMT 16 systems), here with a
random text token as the replacement. No library provides it for a Hugging Face Whisper; it
is a few lines.
"""

from __future__ import annotations

import torch
from transformers.models.whisper.modeling_whisper import shift_tokens_right

from csbench.models.tokenizer import text_token_mask


def corrupted_decoder_inputs(labels: torch.Tensor, config, rate: float) -> torch.Tensor:
    """Teacher-forcing decoder inputs for `labels`, a fraction `rate` of their text tokens random.

    Text tokens are the ids below `config.eos_token_id` (Whisper and the local base add every
    special token — <|endoftext|>, the prompt, padding — after the text vocabulary), so the
    prompt (<|startoftranscript|>, language, task, no timestamps) and padding stay intact.
    Uses the global torch RNG, which the training loop seeds and checkpoints, so a resumed
    run draws the same corruption.
    """
    inputs = shift_tokens_right(labels, config.pad_token_id, config.decoder_start_token_id)
    text = text_token_mask(inputs, config)
    replace = (torch.rand(inputs.shape, device=inputs.device) < rate) & text
    random_tokens = torch.randint(0, int(config.eos_token_id), inputs.shape, device=inputs.device)
    return torch.where(replace, random_tokens, inputs)
