"""Resource requests computed from each job's work (csbench/resources.py), on real DAGs."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from csbench.resources import Workload, base_size, whisper_parameters

REPO = Path(__file__).resolve().parents[1]
DEFAULT = yaml.safe_load((REPO / "config.yaml").read_text())
#: What this test takes as the shortest common partition limit (profiles/slurm says why).
PARTITION_LIMIT_MIN = 240


def test_parameter_counts_match_real_models(tiny_base) -> None:
    from transformers import WhisperForConditionalGeneration

    assert abs(whisper_parameters(512, 6, 6, 2048, 51865) / 72.6e6 - 1) < 0.02  # whisper-base, converted
    model = WhisperForConditionalGeneration.from_pretrained(tiny_base)
    c = model.config
    counted = whisper_parameters(c.d_model, c.encoder_layers, c.decoder_layers, c.encoder_ffn_dim, c.vocab_size,
                                 c.max_source_positions, c.max_target_positions)
    assert abs(counted / model.num_parameters() - 1) < 0.05  # biases and norms are left out


@pytest.mark.parametrize(("base", "parameters"), [("openai/whisper-medium", 769e6), ("whisper-base", 74e6),
                                                  ("openai/whisper-large-v3-turbo", 809e6)])
def test_hub_and_packaged_bases_are_sized_by_name(base: str, parameters: float) -> None:
    assert base_size({**DEFAULT, "base_model": base}) == (parameters, 30.0)


def test_requests_scale_with_the_model_and_the_work() -> None:
    tiny = Workload.from_config({**DEFAULT, "device": "cpu"})
    medium = Workload(769e6, 30.0, gpu=True)
    small_job, long_job = tiny.training(200 * 8, 8), tiny.training(2000 * 8, 8)
    assert long_job.runtime > 5 * small_job.runtime
    paper_finetune = medium.training(2000 * 16, 16, gradient_checkpointing=True)
    assert paper_finetune.gpu_mem_mb > 20 * small_job.mem_mb and small_job.gpu_mem_mb == 0
    assert 20 <= paper_finetune.runtime <= 120  # minutes on one GPU (published peak, assumed utilization)
    # Decoding on a GPU: each utterance a full window at the leaderboard's RTFx for the size
    # nearest by parameters (medium.en 24.48; the 2.6 M tiny base gets tiny.en's 49.44), x4 for batches.
    assert medium.decoding(1000, 16).runtime == math.ceil((60 + 1000 * 30 / (24.48 * 4)) * 2 / 60)
    assert Workload(2.6e6, 6.0, gpu=True).decoding(1000, 16).runtime == math.ceil((60 + 1000 * 6 / (49.44 * 4)) * 2 / 60)
    assert medium.training(2000 * 16, 16, "lora", gradient_checkpointing=True).gpu_mem_mb < paper_finetune.gpu_mem_mb


def _dry_run_resources(*configfiles: str) -> list[dict]:
    """Every job of a dry run with its resources, as Snakemake itself computes them."""
    script = REPO / "tests" / "dag_jobs.py"
    out = subprocess.run([sys.executable, str(script), *configfiles], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return yaml.safe_load(out.stdout)


def test_paper_preset_requests_scale_with_whisper_medium_and_fit_a_partition(tmp_path) -> None:
    """Every submission of the paper preset (a job, or a group of them under profiles/slurm)
    asks at most the partition limit; a resumable job estimated longer asks exactly the limit
    and finishes within the profile's retries."""
    cuda = tmp_path / "cuda.yaml"
    cuda.write_text("device: cuda\n")
    unlimited = tmp_path / "unlimited.yaml"
    unlimited.write_text("cluster: {partition_limit_min: 100000}\n")
    jobs = _dry_run_resources("config.yaml", "configs/paper.yaml", str(cuda))
    estimates = _dry_run_resources("config.yaml", "configs/paper.yaml", str(cuda), str(unlimited))
    by_rule: dict[str, list[dict]] = {}
    for job in jobs:
        by_rule.setdefault(job["rule"], []).append(job["resources"])
    finetune = by_rule["finetune"][0]
    assert finetune["gpu_mem_mb"] >= 24000 and finetune["runtime"] >= 20
    assert all(r["gpu_mem_mb"] > 0 for r in by_rule["merge_recipe"] if r["gpu"])  # a searched recipe decodes
    profile = yaml.safe_load((REPO / "profiles/slurm/config.v8+.yaml").read_text())
    sizes = {rule: profile["group-components"][group] for rule, group in profile["groups"].items()}
    for rule, resources in by_rule.items():
        per_submission = max(r.get("runtime", 0) for r in resources) * min(sizes.get(rule, 1), len(resources))
        assert per_submission <= PARTITION_LIMIT_MIN, (rule, per_submission)
    longest = {}
    for job in estimates:
        longest[job["rule"]] = max(longest.get(job["rule"], 0), job["resources"].get("runtime", 0))
    over = {rule: minutes for rule, minutes in longest.items() if minutes > PARTITION_LIMIT_MIN}
    assert set(over) == {"train_dg"}  # the paper's DG models: matched budget, Fish/GGA extras
    assert all(r["runtime"] == PARTITION_LIMIT_MIN for r in by_rule["train_dg"] if r["runtime"] >= PARTITION_LIMIT_MIN)
    for rule, minutes in over.items():
        assert math.ceil(minutes / PARTITION_LIMIT_MIN) <= profile["retries"] + 1, (rule, minutes)
    tiny = _dry_run_resources("config.yaml")
    tiny_finetune = next(job["resources"] for job in tiny if job["rule"] == "finetune")
    assert finetune["gpu_mem_mb"] > 10 * tiny_finetune["mem_mb"]
