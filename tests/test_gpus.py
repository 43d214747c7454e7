"""GPU assignment: distinct devices per concurrent job, waiting when none is free."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from csbench.gpus import acquire_devices, visible_devices

HOLDER = """
import sys, time
from csbench.gpus import assign_gpus
lease = assign_gpus(1)
import os
print(os.environ["CUDA_VISIBLE_DEVICES"], flush=True)
time.sleep(float(sys.argv[1]))
"""


def _start(tmp_path: Path, hold_s: float, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLDER, str(hold_s)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, text=True)


def test_four_jobs_get_four_distinct_gpus_and_a_fifth_waits(tmp_path) -> None:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "0,1,2,3",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("SLURM_JOB_ID", None)
    holders = [_start(tmp_path, 4.0, env) for _ in range(4)]
    assigned = sorted(process.stdout.readline().strip() for process in holders)
    assert assigned == ["0", "1", "2", "3"]
    started = time.monotonic()
    fifth = _start(tmp_path, 0.0, env)
    device = fifth.stdout.readline().strip()
    waited = time.monotonic() - started
    assert device in {"0", "1", "2", "3"}
    assert waited > 1.0, "the fifth job must wait for a GPU to be released"
    for process in [*holders, fifth]:
        process.wait(timeout=30)


def test_killed_job_releases_its_gpu(tmp_path) -> None:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "7", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("SLURM_JOB_ID", None)
    holder = _start(tmp_path, 60.0, env)
    assert holder.stdout.readline().strip() == "7"
    holder.kill()
    holder.wait()
    lease = acquire_devices(1, devices=["7"], lock_dir=tmp_path / ".snakemake/gpu-locks", timeout_s=5)
    assert lease.devices == ["7"]
    lease.release()


def test_cpu_machine_assigns_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_devices() == []
    assert acquire_devices(1, lock_dir=tmp_path).devices == []
