"""Reliability of the real workflow: SIGKILL mid-training, resume, and identical numbers.

One second run of the micro study is killed with SIGKILL (Snakemake and every job) while a
fine-tune sits between two checkpoints, then rerun. Its final numbers must equal those of
the uninterrupted first run — which also shows that two runs of one config agree exactly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from workflow_utils import REPO, run_snakemake

MICRO = REPO / "tests" / "configs" / "micro.yaml"
pytestmark = pytest.mark.workflow


def _scores(workdir: Path) -> pd.DataFrame:
    """The summary without timing columns (wall-clock speed differs between runs)."""
    summary = pd.read_csv(workdir / "results/tables/summary.csv")
    return summary.drop(columns=["rtfx"]).reset_index(drop=True)


def _kill_during_finetune(workdir: Path, timeout_s: float = 600) -> Path:
    """Start the study; SIGKILL its whole process group once a fine-tune has checkpointed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
         "--configfile", str(MICRO), "--cores", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + timeout_s
    checkpoints = workdir / "results/checkpoints/finetune"
    try:
        while time.monotonic() < deadline:
            found = list(checkpoints.glob("*/*/step-*.json"))
            if found:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return found[0].parent
            if process.poll() is not None:
                pytest.fail("the study finished before any fine-tune checkpoint was seen")
            time.sleep(0.02)
        pytest.fail("no fine-tune checkpoint appeared in time")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def test_sigkill_then_rerun_gives_the_uninterrupted_numbers(micro_study: Path, tmp_path: Path) -> None:
    killed_in = _kill_during_finetune(tmp_path)
    mode, pair = killed_in.parent.name, killed_in.name
    assert not (tmp_path / "results/tables/summary.csv").exists()
    # What a user does after a kill -9: Snakemake's lock on the folder survives its process.
    unlocked = run_snakemake(tmp_path, MICRO, "--unlock")
    assert unlocked.returncode == 0, unlocked.stderr[-2000:]
    result = run_snakemake(tmp_path, MICRO, "--cores", "2", "--rerun-incomplete")
    assert result.returncode == 0, result.stderr[-4000:]
    log = (tmp_path / f"results/logs/finetune/{mode}/{pair}.log").read_text()
    assert "resumed from" in log, log[-2000:]
    pd.testing.assert_frame_equal(_scores(tmp_path), _scores(micro_study))
    for manifest in ("pairs/en-ko/test.jsonl", "pairs/en-ja/train.jsonl", "mono/ko/train.jsonl"):
        first = (micro_study / "results/data" / manifest).read_bytes()
        assert (tmp_path / "results/data" / manifest).read_bytes() == first, manifest


def _job_processes(workdir: Path, script: str) -> list[int]:
    """Pids of the Snakemake script jobs running `script` for the study in `workdir`."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if script in cmdline and ".snakemake/scripts" in cmdline and Path(cwd) == workdir:
            pids.append(int(proc.name))
    return pids


def test_sigusr1_to_a_finetune_checkpoints_and_the_retry_resumes(micro_study: Path, tmp_path: Path) -> None:
    """What a SLURM time limit does with `--signal=USR1@...` and `--retries`: the fine-tune
    receives SIGUSR1 between two regular checkpoints, saves the step it is on and exits with
    one line; Snakemake's retry resumes it from that step; the study's numbers equal the
    uninterrupted run's."""
    process = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(MICRO), "--cores", "2", "--retries", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, text=True,
    )
    checkpoints = tmp_path / "results/checkpoints/finetune"
    signalled: tuple[str, str] | None = None
    deadline = time.monotonic() + 600
    try:
        while signalled is None and time.monotonic() < deadline and process.poll() is None:
            for record in checkpoints.glob("*/*/step-*.json"):
                for pid in _job_processes(tmp_path, "finetune.py"):
                    os.kill(pid, signal.SIGUSR1)
                    signalled = (record.parent.parent.name, record.parent.name)
                break
            time.sleep(0.02)
        _, stderr = process.communicate(timeout=900)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert signalled is not None, "no fine-tune was caught between checkpoints"
    assert process.returncode == 0, stderr[-4000:]
    logs = "".join(p.read_text() for p in (tmp_path / "results/logs/finetune").glob("*/*.log"))
    assert "SIGUSR1 received: stopped after step" in stderr + logs
    assert "resumed from" in logs
    pd.testing.assert_frame_equal(_scores(tmp_path), _scores(micro_study))
