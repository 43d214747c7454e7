"""Glue between Snakemake `script:` jobs and the csbench library.

Every script in scripts/ is a thin entry point: it calls `run_job` with a function that
does the work. `run_job` routes logs into the rule's log file, sets the thread count, and
turns a user-facing failure (a `csbench.errors.CsbenchError`: bad input, bad config, NaN
loss, unloadable model) into one line naming what is wrong, both in the log and on the
terminal, instead of a traceback; anything else is a bug and keeps its traceback.

A torch job's log also names its numerical environment (`environment_line`): the same config
gives bit-identical models only with the same library versions and CPU kernels (the local
base's dev CER moved from 0.250 to 0.317 between two sessions running the same code, when
neither was recorded).

Every job also ends its log with one `csbench-job {...}` JSON record: rule, threads, and
the wall-clock start of its *process* (so imports count) and end. Snakemake's benchmark
files hold durations but no start times; these records let `csbench.report.timing` show
where a run's time went and let a test prove that no two jobs ever held more threads
than there are cores.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from csbench.errors import CsbenchError
from csbench.gpus import assign_gpus
from csbench.progress import setup_logging

logger = logging.getLogger("csbench")


def run_job(snakemake: Any, work: Callable[[Any], None]) -> None:
    """Run `work(snakemake)` with logging, threads and one-line errors set up."""
    log_path = snakemake.log[0] if len(snakemake.log) else None
    setup_logging(log_path)
    threads = max(1, int(getattr(snakemake, "threads", 1)))
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    # cuBLAS is deterministic only with a fixed workspace (PyTorch's reproducibility notes).
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if "torch" in sys.modules:  # a torch job: its script imported its csbench modules already
        set_torch_kernels(threads)
    logger.info("rule %s, wildcards %s, threads %d", snakemake.rule, dict(snakemake.wildcards), threads)
    if "torch" in sys.modules:
        logger.info("%s", environment_line())
    gpus = int(getattr(snakemake.resources, "gpu", 0) or 0)
    lease = assign_gpus(gpus) if gpus else None
    try:
        work(snakemake)
    except CsbenchError as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        logger.error("%s", message)
        raise SystemExit(f"csbench {snakemake.rule}: {message}") from None
    finally:
        if lease is not None:
            lease.release()
    logger.info("done")
    logger.info("%s %s", JOB_RECORD_PREFIX, json.dumps(job_record(snakemake.rule, threads, gpus)))


def set_torch_kernels(threads: int) -> None:
    """The thread count and kernel modes of every torch job (and of the benchmarks that
    price a job's work, so they time the same kernels)."""
    import torch

    torch.set_num_threads(threads)
    # Same config, same numbers: with more than one thread some CPU kernels reduce in a
    # run-dependent order (measured: 30 fine-tuning steps on 2 threads gave different
    # weights run to run, bit-identical ones in this mode).
    torch.use_deterministic_algorithms(True, warn_only=True)
    # That mode also fills every new tensor with NaN, a debugging aid for reads of
    # uninitialized memory that changes no result of correct code and cost ~7 % of a
    # training step of the tiny base (profiled: ~600 fill_ calls a step).
    torch.utils.deterministic.fill_uninitialized_memory = False


#: The libraries whose versions decide a torch job's numbers (kernels, model code, tokenizer).
NUMERIC_PACKAGES = ("torch", "transformers", "tokenizers", "peft", "numpy")


def environment_line() -> str:
    """One line: the versions of NUMERIC_PACKAGES and the compute kernels torch dispatches to.

    Why: two runs of one config agree bit for bit only when these agree; a reader comparing
    two runs' numbers checks this line first. bf16 kernels differ between CPUs with AMX and
    with AVX512-BF16 only, so both flags are named.
    """
    from importlib.metadata import PackageNotFoundError, version

    import torch

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "absent"

    packages = ", ".join(f"{name} {installed(name)}" for name in NUMERIC_PACKAGES)
    cpu = torch.backends.cpu.get_cpu_capability()
    bf16 = [flag for flag, present in (("amx", torch.cpu._is_amx_tile_supported()),
                                       ("avx512_bf16", torch.cpu._is_avx512_bf16_supported())) if present]
    device = f"; cuda {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    # One decimal below 10 GFLOP/s: emulated bf16 (~2 on an AVX2-only CPU) must not round to 0.
    speed = ", ".join(f"{name} {rate:.0f}" if rate >= 10 else f"{name} {rate:.1f}"
                      for name, rate in matmul_speed().items())
    return (f"environment: {packages}; cpu {cpu}, bf16 {'+'.join(bf16) or 'emulated'}; "
            f"matmul GFLOP/s {speed}{device}")


def matmul_speed(size: int = 1024, budget_s: float = 0.05) -> dict[str, float]:
    """GFLOP/s of a square matmul on this job's CPU threads, in fp32 and bf16 (~0.1-0.2 s).

    Why: the same 2-core machine type has run the base's 4,000 steps at 2.5 and at 6 steps/s
    on different days (bf16 matmul 355 and 1,293 GFLOP/s); a log that records the machine's
    speed tells a slow run on a slow host from a slow change in the code.

    Timed for `budget_s` per dtype, not for a fixed count: where bf16 is emulated (an AVX2
    CPU without AVX512-BF16 or AMX: ~2 GFLOP/s) five 1024² products took ~15 s, paid by every
    torch job. A 256² probe comes first; a dtype too slow for one `size`² product in 0.1 s
    is reported at the probe's size.
    """
    import torch

    def rate(dtype: torch.dtype, n: int, budget: float) -> float:
        generator = torch.Generator().manual_seed(0)
        a, b = (torch.rand(n, n, generator=generator).to(dtype) for _ in range(2))
        a @ b  # warm-up: the first call sets the kernel up
        count, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < budget or count == 0:
            a @ b
            count += 1
        return 2 * n**3 * count / elapsed / 1e9

    rates = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        probe = rate(dtype, 256, budget_s / 5)
        fits = 2 * size**3 / (probe * 1e9) <= 0.1
        rates[name] = rate(dtype, size, budget_s) if fits else probe
    return rates


#: Marks the one JSON line per log that `csbench.report.timing` reads.
JOB_RECORD_PREFIX = "csbench-job"


def job_record(rule: str, threads: int, gpus: int = 0) -> dict[str, Any]:
    """This job's timing record: its process's start (imports included), now, and the CPU
    seconds it used (its own and its finished children's, user + system).

    Why CPU seconds: `threads` is what Snakemake reserved, not what the job kept busy; CPU
    seconds over wall seconds says how many cores it used, so a run's idle cores show up.
    """
    cpu = os.times()
    cpu_seconds = cpu.user + cpu.system + cpu.children_user + cpu.children_system
    return {"rule": rule, "threads": threads, "gpus": gpus, "started": process_start_time(), "ended": time.time(),
            "cpu_s": round(cpu_seconds, 2)}


def process_start_time() -> float:
    """When this process started, on the clock of `time.time()`.

    Why not `psutil.Process().create_time()`: on Linux it adds the start tick to the boot
    time, which the kernel reports in whole seconds, so every start is off by the same
    fraction of a second against `time.time()` and back-to-back jobs seem to overlap. The
    process's age (uptime minus its start tick, both since boot, 10 ms resolution) is exact.
    """
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of proc(5); fields after "(comm)" start at 3
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - (uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):  # not Linux
        import psutil

        return psutil.Process().create_time()
