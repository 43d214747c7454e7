"""Snakemake entry point: train one DG model on a set of seen pairs (domains = pairs)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from csbench.data.manifest import read_manifest  # noqa: E402
from csbench.dg.driver import examples_seen, run_domain_generalization  # noqa: E402
from csbench.models.loading import load_processor, load_whisper, resolve_device  # noqa: E402
from csbench.train.checkpoint import remove_checkpoints  # noqa: E402
from csbench.train.finetune import save_model  # noqa: E402
from csbench.train.loop import TrainSettings  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    options = smk.params.settings
    device = resolve_device(smk.params.device)
    domains = {Path(path).parent.name: read_manifest(path) for path in smk.input.train}
    model = load_whisper(smk.params.base_model, device)
    processor = load_processor(smk.params.base_model)
    per_domain = int(options["batch_size_per_domain"])
    trained, history = run_domain_generalization(
        model, processor, domains, smk.wildcards.dg_method, dict(smk.params.hyperparameters),
        TrainSettings.from_config(options, int(smk.params.seed)), per_domain, smk.params.checkpoint_dir,
        device, str(options["mixed_precision"]), bool(options["gradient_checkpointing"]),
    )
    budget = {"examples_seen": examples_seen(history, per_domain, list(domains)), "steps": len(history),
              "batch_size_per_domain": per_domain, "mixed_precision": options["mixed_precision"]}
    save_model(trained, processor, smk.output[0], {"training_history.json": history, "budget.json": budget})
    remove_checkpoints(smk.params.checkpoint_dir)


run_job(snakemake, work)  # noqa: F821
