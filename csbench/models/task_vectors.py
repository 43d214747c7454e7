"""Task vectors: ΔW = θ_finetuned − θ_base, from full fine-tunes and from LoRA adapters.

Merging happens on ΔW for both fine-tuning modes. A LoRA adapter is turned into its ΔW
(B·A·scaling, via peft's own `get_delta_weight`) because peft's non-SVD
`add_weighted_adapter` types combine A and B separately, which is not task arithmetic.
Names are those of `named_parameters()`, which lists a tied weight once, so applying a
task vector never adds the same ΔW twice to the tied embedding/output projection.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from transformers import WhisperForConditionalGeneration

TaskVector = dict[str, torch.Tensor]
ADAPTER_CONFIG = "adapter_config.json"


def is_lora_checkpoint(path: str | Path) -> bool:
    return (Path(path) / ADAPTER_CONFIG).exists()


@torch.no_grad()
def full_task_vector(
    base: WhisperForConditionalGeneration, finetuned: WhisperForConditionalGeneration
) -> TaskVector:
    """θ_ft − θ_base for every parameter (float32, on CPU)."""
    tuned = dict(finetuned.named_parameters())
    return {
        name: (tuned[name].detach().float().cpu() - param.detach().float().cpu())
        for name, param in base.named_parameters()
    }


@torch.no_grad()
def lora_task_vector(base: WhisperForConditionalGeneration, adapter_dir: str | Path) -> TaskVector:
    """ΔW = B·A·scaling of every LoRA-adapted weight, keyed by the base parameter name."""
    from peft import PeftModel
    from peft.tuners.lora import LoraLayer

    peft_model = PeftModel.from_pretrained(copy.deepcopy(base), str(adapter_dir))
    vector: TaskVector = {}
    for module_name, module in peft_model.base_model.model.named_modules():
        if isinstance(module, LoraLayer):
            for adapter in module.active_adapters:
                delta = module.get_delta_weight(adapter).detach().float().cpu()
                key = f"{module_name}.weight"
                vector[key] = vector[key] + delta if key in vector else delta
    return vector


def load_task_vector(base: WhisperForConditionalGeneration, checkpoint: str | Path) -> TaskVector:
    """The task vector of a saved fine-tune (a full model folder or a LoRA adapter folder)."""
    if is_lora_checkpoint(checkpoint):
        return lora_task_vector(base, checkpoint)
    finetuned = WhisperForConditionalGeneration.from_pretrained(str(checkpoint), torch_dtype=torch.float32)
    return full_task_vector(base, finetuned)


@torch.no_grad()
def apply_task_vector(model: WhisperForConditionalGeneration, vector: TaskVector) -> None:
    """Add `vector` to `model`'s parameters in place; unknown names are an error."""
    params = dict(model.named_parameters())
    unknown = sorted(set(vector) - set(params))
    if unknown:
        raise KeyError(f"task vector names parameters the model lacks: {unknown[:3]}")
    for name, delta in vector.items():
        params[name].add_(delta.to(params[name].device, params[name].dtype))
