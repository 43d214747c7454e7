"""Give each GPU job its own devices on one machine.

Snakemake's `--resources gpu=4` caps how many GPU jobs run at once but never says which
GPU a job gets, so without this every job would land on GPU 0. A job tagged `gpu=N`
takes N free device ids by holding an exclusive `flock` on one lock file per device
(under `.snakemake/gpu-locks/`), then sets CUDA_VISIBLE_DEVICES to them. The kernel
releases a flock when its process exits, however it exits (even `kill -9`), so a crashed
job never leaves a device marked busy.

On SLURM (SLURM_JOB_ID set) the scheduler already isolated the allocation in
CUDA_VISIBLE_DEVICES: it is used as is. With no GPUs nothing is assigned (CPU run).
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)
DEFAULT_LOCK_DIR = Path(".snakemake/gpu-locks")


def visible_devices() -> list[str]:
    """Device ids this machine offers: CSBENCH_GPUS or CUDA_VISIBLE_DEVICES, else all CUDA GPUs."""
    for variable in ("CSBENCH_GPUS", "CUDA_VISIBLE_DEVICES"):
        value = os.environ.get(variable)
        if value is not None:
            return [device.strip() for device in value.split(",") if device.strip()]
    try:
        import torch

        return [str(index) for index in range(torch.cuda.device_count())]
    except Exception:  # no torch or no driver: a CPU machine
        return []


@dataclass
class DeviceLease:
    """Devices held by this process; `release` (or process exit) frees them."""

    devices: list[str]
    _handles: list[IO[str]] = field(default_factory=list, repr=False)

    def release(self) -> None:
        for handle in self._handles:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
        self._handles.clear()


def acquire_devices(
    count: int,
    devices: list[str] | None = None,
    lock_dir: str | Path = DEFAULT_LOCK_DIR,
    poll_s: float = 0.5,
    timeout_s: float | None = None,
) -> DeviceLease:
    """Take `count` distinct free devices, waiting until enough are free.

    Raises ValueError if the machine has fewer than `count` devices at all, and
    TimeoutError if `timeout_s` passes first.
    """
    devices = visible_devices() if devices is None else devices
    if count <= 0 or not devices:
        return DeviceLease([])
    if count > len(devices):
        raise ValueError(f"job needs {count} GPUs but this machine offers {len(devices)}: {devices}")
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    while True:
        lease = DeviceLease([])
        for device in devices:
            handle = open(lock_dir / f"gpu-{device}.lock", "a+")  # noqa: SIM115 - held for the job
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            lease.devices.append(device)
            lease._handles.append(handle)
            if len(lease.devices) == count:
                return lease
        lease.release()
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            raise TimeoutError(f"no {count} free GPU(s) among {devices} after {timeout_s:.0f} s")
        time.sleep(poll_s)


def assign_gpus(count: int) -> DeviceLease:
    """Set CUDA_VISIBLE_DEVICES for a job needing `count` GPUs; keep the lease for its lifetime."""
    if os.environ.get("SLURM_JOB_ID"):
        logger.info("SLURM allocation: CUDA_VISIBLE_DEVICES=%s", os.environ.get("CUDA_VISIBLE_DEVICES", ""))
        return DeviceLease([])
    lease = acquire_devices(count)
    if lease.devices:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(lease.devices)
        logger.info("assigned GPU(s) %s", os.environ["CUDA_VISIBLE_DEVICES"])
    return lease
