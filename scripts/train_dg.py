"""Snakemake entry point: train one DG model on a set of seen pairs (domains = pairs)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from csbench.data.manifest import read_manifest  # noqa: E402
from csbench.models.loading import load_processor, load_whisper, resolve_device  # noqa: E402
from csbench.train.finetune import save_model  # noqa: E402
from csbench.train.joint import run_domain_generalization  # noqa: E402
from csbench.train.loop import TrainSettings, remove_checkpoint  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    options = smk.params.settings
    device = resolve_device(smk.params.device)
    domains = {Path(path).parent.name: read_manifest(path) for path in smk.input.train}
    settings = TrainSettings(
        steps=int(options.get("steps", 300)),
        learning_rate=float(options.get("learning_rate", 3e-4)),
        warmup_steps=int(options.get("warmup_steps", 0)),
        checkpoint_every=int(options.get("checkpoint_every", 100)),
        seed=int(smk.params.seed),
    )
    model = load_whisper(smk.params.base_model, device)
    processor = load_processor(smk.params.base_model)
    per_domain = max(1, int(options.get("batch_size", 8)) // len(domains))
    trained, history = run_domain_generalization(
        model, processor, domains, smk.wildcards.dg_method, dict(smk.params.hyperparameters), settings,
        per_domain, smk.params.checkpoint_dir, device,
    )
    save_model(trained, processor, smk.output[0], {"training_history.json": history})
    remove_checkpoint(smk.params.checkpoint_dir)


run_job(snakemake, work)  # noqa: F821
