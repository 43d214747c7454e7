"""Snakemake entry point: fine-tune the base on one seen pair (full or LoRA)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from csbench.data.manifest import read_manifest  # noqa: E402
from csbench.models.loading import load_processor, load_whisper, resolve_device  # noqa: E402
from csbench.train.finetune import FinetuneJob, LoraSettings, run_finetune, save_model  # noqa: E402
from csbench.train.loop import TrainSettings, remove_checkpoint  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    options = smk.params.settings
    lora = options.get("lora", {})
    job = FinetuneJob(
        mode=smk.wildcards.mode,
        settings=TrainSettings(
            steps=int(options["steps"]),
            learning_rate=float(smk.params.learning_rate),
            warmup_steps=int(options.get("warmup_steps", 0)),
            checkpoint_every=int(options.get("checkpoint_every", 100)),
            seed=int(smk.params.seed),
        ),
        batch_size=int(options["batch_size"]),
        lora=LoraSettings(
            rank=int(lora.get("rank", 8)),
            alpha=int(lora.get("alpha", 16)),
            target_modules=tuple(lora.get("target_modules", LoraSettings().target_modules)),
        ),
        gradient_checkpointing=bool(options.get("gradient_checkpointing", False)),
        mixed_precision=str(options.get("mixed_precision", "fp32")),
    )
    device = resolve_device(smk.params.device)
    model = load_whisper(smk.params.base_model, device)
    processor = load_processor(smk.params.base_model)
    utterances = read_manifest(smk.input.train)
    trained, history = run_finetune(
        model, processor, utterances, job, smk.params.checkpoint_dir, device,
        description=f"fine-tune {job.mode} {smk.wildcards.pair}",
    )
    save_model(trained, processor, smk.output[0], {"training_history.json": history})
    remove_checkpoint(smk.params.checkpoint_dir)


run_job(snakemake, work)  # noqa: F821
