"""When a training job must stop early: a scheduler's signal, or its time limit coming close.

Why both: on SLURM the time limit ends a job with SIGTERM and, KillWait seconds later (30 by
default), SIGKILL — too late to start a checkpoint of a large model — and `sbatch --signal`
reaches every process of the job step, Snakemake's own included, which it ends before the
training script has saved anything. So the loop also asks SLURM, once at the start, how much
time the job has left (`squeue -j $SLURM_JOB_ID -o %L`) and stops on its own, with a checkpoint,
when the next step could not finish before the limit minus a margin. Snakemake's `--retries`
(profiles/slurm) resubmits the job, which resumes from that checkpoint. Signals (SIGTERM,
SIGUSR1) are still honoured the same way: preemption, `scancel --signal`, `kill -USR1`.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import threading
import time
from typing import Any

logger = logging.getLogger(__name__)

#: Seconds kept free before the time limit, besides twice the slowest step so far
#: (environment CSBENCH_STOP_MARGIN_S overrides it).
DEFAULT_MARGIN_S = 120.0
_DURATION = re.compile(r"^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$")


def parse_slurm_duration(text: str) -> float | None:
    """Seconds in SLURM's [D-][HH:]MM:SS, or None (UNLIMITED, NOT_SET, INVALID, empty)."""
    match = _DURATION.match(text.strip())
    if not match:
        return None
    days, hours, minutes, seconds = (int(part) if part else 0 for part in match.groups())
    return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)


def slurm_deadline() -> float | None:
    """`time.monotonic()` at which this SLURM job's time limit falls, or None outside SLURM or
    when squeue cannot say."""
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return None
    try:
        answer = subprocess.run(["squeue", "--noheader", "--jobs", job, "--format", "%L"],
                                capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    left = parse_slurm_duration(answer.stdout.splitlines()[0]) if answer.stdout.strip() else None
    if left is None:
        return None
    logger.info("SLURM job %s: %.0f s left before its time limit", job, left)
    return time.monotonic() + left


class StopRequests:
    """Within the block, records SIGTERM and SIGUSR1 instead of dying, and knows the job's
    deadline; `reason()` says after each step whether to stop (None: go on). SIGUSR1 is what
    `sbatch --signal` sends ahead of a time limit; SIGTERM what SLURM sends at the limit or on
    preemption and what Snakemake sends its jobs when interrupted. Outside the main thread no
    handler can be installed and only the deadline applies."""

    SIGNALS = (signal.SIGTERM, signal.SIGUSR1)

    def __init__(self, deadline: float | None = None, margin_s: float | None = None) -> None:
        self.received = 0
        self.deadline = deadline
        self.margin_s = float(os.environ.get("CSBENCH_STOP_MARGIN_S", DEFAULT_MARGIN_S)) if margin_s is None else margin_s
        self._previous: dict[int, Any] = {}

    def _handle(self, number: int, frame: Any) -> None:
        logger.warning("%s received: stopping after this step with a checkpoint", signal.Signals(number).name)
        self.received = number

    def reason(self, slowest_step_s: float) -> str | None:
        """Why to stop now, or None."""
        if self.received:
            return f"{signal.Signals(self.received).name} received"
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left < self.margin_s + 2 * slowest_step_s:
                return f"the time limit is {left:.0f} s away"
        return None

    def __enter__(self) -> StopRequests:
        if self.deadline is None:
            self.deadline = slurm_deadline()
        if threading.current_thread() is threading.main_thread():
            for number in self.SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
