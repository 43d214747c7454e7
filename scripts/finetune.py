"""Snakemake entry point: fine-tune the base on one seen pair (full or LoRA)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from csbench.data.manifest import read_manifest  # noqa: E402
from csbench.models.loading import load_processor, load_whisper, resolve_device  # noqa: E402
from csbench.train.checkpoint import remove_checkpoints  # noqa: E402
from csbench.train.finetune import FinetuneJob, run_finetune, save_model  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    job = FinetuneJob.from_config(
        smk.wildcards.mode, smk.params.settings, float(smk.params.learning_rate), int(smk.params.seed)
    )
    device = resolve_device(smk.params.device)
    model = load_whisper(smk.params.base_model, device)
    processor = load_processor(smk.params.base_model)
    utterances = read_manifest(smk.input.train)
    trained, history = run_finetune(
        model, processor, utterances, job, smk.params.checkpoint_dir, device,
        description=f"fine-tune {job.mode} {smk.wildcards.pair}",
    )
    budget = {"examples_seen": {smk.wildcards.pair: len(history) * job.batch_size}, "steps": len(history),
              "batch_size": job.batch_size, "mixed_precision": job.mixed_precision}
    save_model(trained, processor, smk.output[0], {"training_history.json": history, "budget.json": budget})
    remove_checkpoints(smk.params.checkpoint_dir)


run_job(snakemake, work)  # noqa: F821
