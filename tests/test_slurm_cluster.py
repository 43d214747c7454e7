"""The micro study through profiles/slurm on a real single-node SLURM cluster (issue 8).

tests/cluster/slurm.sh starts Debian's slurmctld, slurmd and munged on localhost; Snakemake then
submits every job with `sbatch` through snakemake-executor-plugin-slurm, exactly as from a login
node. Nothing is mocked: the test fails if a job is not accepted, scheduled and completed by
slurmctld. Run it with `make test-cluster` (installs the Debian packages when missing) or
`pytest -m cluster`; it is left out of the default `pytest` run because it needs root, starts
system daemons on ports 6817-6818 and writes /etc/slurm/slurm.conf while it runs.

Test-only choices, each forced by this one-machine cluster and not by profiles/slurm:
- `--slurm-status-command squeue`: there is no slurmdbd, so `sacct` answers "Slurm accounting
  storage is disabled"; the plugin's squeue mode is meant for such clusters, and the cluster
  keeps finished jobs in squeue for an hour (MinJobAge=3600).
- `--slurm-init-seconds-before-status-checks 5`: the first status query comes after 5 s instead
  of 40 s, because micro jobs take seconds.
- `--slurm-keep-successful-logs`: the SLURM log of every job stays, so the test can read them.
- GPUs: the rules keep `gpu=1` and the executor sends `--gpus=1` as on a GPU cluster. The node
  declares two GPU slots whose device files are /dev/null and /dev/zero (see slurm.sh); Slurm
  only counts them, and the micro study computes on the CPU (device: cpu). This tests the
  profile's real GPU requests, including what a group of evaluations asks for, instead of
  rewriting them with `--set-resources gpu=0`.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_workflow import expected_models
from workflow_utils import REPO

MICRO = REPO / "tests" / "configs" / "micro.yaml"
SLURM_SH = REPO / "tests" / "cluster" / "slurm.sh"
DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol")

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(
        any(shutil.which(tool) is None for tool in DAEMONS),
        reason="SLURM is not installed (needs " + ", ".join(DAEMONS)
        + "): `make test-cluster` installs slurmctld slurmd slurm-client munge with apt-get",
    ),
]


@pytest.fixture(scope="module")
def slurm_env(tmp_path_factory) -> Iterator[dict[str, str]]:
    """Start the single-node cluster; yield the environment its clients need; stop it after."""
    root = tmp_path_factory.mktemp("slurm")
    start = subprocess.run(["bash", str(SLURM_SH), "start", str(root)], capture_output=True, text=True,
                           timeout=180)
    try:
        assert start.returncode == 0, f"slurm.sh start failed:\n{start.stdout}\n{start.stderr}"
        yield {**os.environ, "SLURM_CONF": str(root / "slurm.conf")}
    finally:
        subprocess.run(["bash", str(SLURM_SH), "stop", str(root)], capture_output=True, timeout=120)


def scheduler_view(env: dict[str, str], run_id: str) -> dict[str, dict[str, str]]:
    """slurmctld's own record of this run's jobs: id -> state, GRES asked, TRES given, --time, comment."""
    out = subprocess.run(["squeue", "--states=all", "--noheader", "--name", run_id,
                          "--Format=JobID:|,State:|,tres-per-job:|,tres-alloc:|,TimeLimit:|,Comment:"],
                         env=env, capture_output=True, text=True, check=True)
    jobs = {}
    for line in out.stdout.splitlines():
        job_id, state, gres, tres, time_limit, comment = (field.strip() for field in line.split("|"))
        jobs[job_id] = {"state": state, "gres": gres, "tres": tres, "time": time_limit, "comment": comment}
    return jobs


def job_stats(output: str) -> dict[str, int]:
    """The first 'Job stats' table Snakemake prints: rule -> number of jobs (without total)."""
    table = output.split("Job stats:", 1)[1].split("total", 1)[0]
    return {rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_micro_study_runs_through_sbatch(slurm_env: dict[str, str], tmp_path: Path) -> None:
    """Every job is an sbatch submission that slurmctld completes, and the summary is whole."""
    workdir = tmp_path / "study"
    workdir.mkdir()
    started = time.monotonic()
    # cwd=workdir, not --directory: the executor submits with `sbatch -D <launch directory>`
    # and spawned jobs rely on it, exactly as when one runs `snakemake` in the study directory.
    # --cores 2: the node has 2 CPUs; profiles/slurm lets one submission use up to 8.
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--configfile", str(MICRO),
         "--profile", str(REPO / "profiles" / "slurm"), "--cores", "2",
         "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "5",
         "--slurm-keep-successful-logs"],
        cwd=workdir, env=slurm_env, capture_output=True, text=True, timeout=3600,
    )
    wall = time.monotonic() - started
    output = result.stdout + result.stderr
    (tmp_path / "snakemake.log").write_text(output)
    assert result.returncode == 0, output[-6000:]

    run_id = re.search(r"SLURM run ID: (\S+)", output).group(1)
    submitted = dict(re.findall(r"Job (\S+) has been submitted with SLURM jobid (\d+)", output))
    slurm_ids = sorted(submitted.values(), key=int)
    jobs = scheduler_view(slurm_env, run_id)
    print(f"\nSLURM run {run_id}: {len(slurm_ids)} sbatch jobs in {wall:.0f} s, ids {', '.join(slurm_ids)}")
    for job_id in slurm_ids:
        job = jobs.get(job_id, {})
        print(f"  {job_id:>4} {job.get('state')} {job.get('comment')} gres={job.get('gres')} {job.get('tres')}"
              f" time={job.get('time')}")

    # Every submission the executor logged is a job slurmctld knows, ran and completed; no other.
    assert len(set(slurm_ids)) == len(slurm_ids) > 0
    assert set(jobs) == set(slurm_ids)
    assert {job["state"] for job in jobs.values()} == {"COMPLETED"}
    # Each job left the SLURM log of the batch script slurmd ran.
    logs = {log.stem for log in (workdir / ".snakemake" / "slurm_logs").rglob("*.log")}
    assert logs >= set(slurm_ids)

    # One submission per job, except the grouped rule: 10 evaluations per sbatch (profiles/slurm).
    profile = yaml.safe_load((REPO / "profiles/slurm/config.v8+.yaml").read_text())
    stats = job_stats(output)
    grouped = {rule: profile["group-components"][group] for rule, group in profile["groups"].items()}
    assert grouped == {"evaluate": 10}
    expected_submissions = sum(
        -(-count // grouped[rule]) if rule in grouped else count for rule, count in stats.items() if rule != "all"
    )
    assert len(slurm_ids) == expected_submissions, stats
    comments = [job["comment"] for job in jobs.values()]
    assert sum(comment == "rule_evaluation_evaluate" for comment in comments) == -(-stats["evaluate"] // 10)
    # GPU rules asked SLURM for one GPU each, groups included (before the profile's per-submission
    # limits, a group of 20 evaluations asked for 20 GPUs, 20 CPUs and 80 GB and never started).
    # A recipe or a DG selection with a grid searches dev sets on a GPU; without one it does not.
    config = yaml.safe_load(MICRO.read_text())
    gpu_rules = ("pretrain_local_base", "finetune", "train_dg", "evaluation_evaluate",
                 *(f"merge_recipe_wildcards_{method}" for method in config["merge"]["grid"]),
                 *(f"select_dg_wildcards_{method}" for method in config["dg"]["grid"]))
    for job in jobs.values():
        wants_gpu = job["comment"].startswith(tuple(f"rule_{rule}" for rule in gpu_rules))
        assert job["gres"] == ("gres:gpu:1" if wants_gpu else "N/A"), job
        assert int(re.search(r"cpu=(\d+)", job["tres"]).group(1)) <= 2, job

    summary = pd.read_csv(workdir / "results/tables/summary.csv")
    mer = summary[summary["metric"] == "mer"]
    expected = {(model, pair) for model in expected_models(config) for pair in ("en-ko", "en-ja", "ja-ko")}
    assert set(zip(mer["model"], mer["pair"], strict=True)) == expected
    assert len(mer) == len(expected)
    assert all(math.isfinite(value) for value in mer["value"])


#: A fine-tune long enough to need several one-minute submissions, with a regular checkpoint
#: between the ones its deadline stops write (the micro model trains ~59 steps/s on one core:
#: ~2,200 steps fit a one-minute submission after start-up and the 15 s margin).
LONG_FINETUNE_STEPS = 6000


def _submit(workdir: Path, env: dict[str, str], config: Path, *extra: str) -> tuple[int, str]:
    result = subprocess.run(
        # The target first: --configfile and --set-resources take every value that follows.
        [sys.executable, "-m", "snakemake", "results/finetune/full/en-ko", "-s", str(REPO / "Snakefile"),
         "--configfile", str(MICRO), str(config), "--profile", str(REPO / "profiles" / "slurm"), "--cores", "2",
         "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "5",
         "--slurm-keep-successful-logs", *extra, "--set-resources", "finetune:runtime=1"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=3600,
    )
    return result.returncode, result.stdout + result.stderr


def test_a_finetune_longer_than_its_time_limit_resumes_across_submissions(slurm_env, tmp_path: Path) -> None:
    """`--time 1` (minute) for a fine-tune that needs several: each submission stops itself
    with a checkpoint before the limit and exits; with `--retries 0` the run stops there, the
    newest checkpoint is truncated (a kill mid-write), and the rerun through profiles/slurm
    (retries 3) falls back to the one before it, resubmits until done, and ends with the
    weights of an uninterrupted local run."""
    config = tmp_path / "long.yaml"
    config.write_text(yaml.safe_dump({"finetune": {"steps": LONG_FINETUNE_STEPS, "checkpoint_every": 250}}))
    env = {**slurm_env, "CSBENCH_STOP_MARGIN_S": "15"}
    workdir = tmp_path / "study"
    workdir.mkdir()
    code, first = _submit(workdir, env, config, "--retries", "0")
    (tmp_path / "first.log").write_text(first)
    assert code != 0, "the fine-tune finished within one minute: raise LONG_FINETUNE_STEPS"
    checkpoints = sorted((workdir / "results/checkpoints/finetune/full/en-ko").glob("step-*.pt"))
    assert len(checkpoints) == 2, checkpoints
    log = (workdir / "results/logs/finetune/full/en-ko.log").read_text()
    assert "the time limit is" in log and "stopped after step" in log, log[-2000:]
    newest = checkpoints[-1]
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 3])

    code, second = _submit(workdir, env, config)
    (tmp_path / "second.log").write_text(second)
    assert code == 0, second[-6000:]
    run_ids = re.findall(r"SLURM run ID: (\S+)", first + second)
    jobs = {job_id: job for run_id in run_ids for job_id, job in scheduler_view(slurm_env, run_id).items()}
    # The comment names the wildcards in order; the last, {replicate}, is empty for the first seed.
    finetunes = {job_id: job for job_id, job in jobs.items() if job["comment"] == "rule_finetune_wildcards_full_en-ko_"}
    ordered = sorted(finetunes.items(), key=lambda item: int(item[0]))
    print("\nfine-tune submissions: " + ", ".join(f"{i} {job['state']} time={job['time']}" for i, job in ordered))
    states = [job["state"] for _, job in ordered]
    assert len(states) >= 3 and states[-1] == "COMPLETED" and "FAILED" in states[:-1], states
    assert all(job["time"] == "1:00" for job in finetunes.values())
    # A rule's log holds its last attempt; profiles/slurm's show-failed-logs printed the others.
    log = second + (workdir / "results/logs/finetune/full/en-ko.log").read_text()
    assert f"{newest.name} is " in log and "trying the one before it" in log, log[-3000:]

    local = tmp_path / "local"
    local.mkdir()
    uninterrupted = subprocess.run(
        [sys.executable, "-m", "snakemake", "results/finetune/full/en-ko", "-s", str(REPO / "Snakefile"),
         "--configfile", str(MICRO), str(config), "--cores", "2"],
        cwd=local, capture_output=True, text=True, timeout=3600,
    )
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-3000:]
    weights = "results/finetune/full/en-ko/model.safetensors"
    assert (workdir / weights).read_bytes() == (local / weights).read_bytes()
