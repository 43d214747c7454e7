"""Glue between Snakemake `script:` jobs and the csbench library.

Every script in scripts/ is a thin entry point: it calls `run_job` with a function that
does the work. `run_job` routes logs into the rule's log file, sets the thread count, and
turns an expected failure (bad input, bad config, NaN loss, unloadable model) into one
line naming what is wrong, both in the log and on the terminal, instead of a traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from csbench.gpus import assign_gpus
from csbench.progress import setup_logging

logger = logging.getLogger("csbench")


def expected_errors() -> tuple[type[BaseException], ...]:
    """Error types that carry a complete, user-facing one-line message."""
    from csbench.config import ConfigError
    from csbench.data.leakage import LeakageError
    from csbench.data.manifest import ManifestError

    errors: list[type[BaseException]] = [ConfigError, ManifestError, LeakageError, FileNotFoundError]
    try:
        from csbench.models.loading import ModelLoadError
        from csbench.train.loop import NonFiniteLossError, OutOfMemoryError

        errors += [ModelLoadError, NonFiniteLossError, OutOfMemoryError]
    except ImportError:  # torch-free jobs (data synthesis) never raise these
        pass
    return tuple(errors)


def run_job(snakemake: Any, work: Callable[[Any], None]) -> None:
    """Run `work(snakemake)` with logging, threads and one-line errors set up."""
    log_path = snakemake.log[0] if len(snakemake.log) else None
    setup_logging(log_path)
    threads = max(1, int(getattr(snakemake, "threads", 1)))
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    if "torch" in sys.modules or _needs_torch(snakemake):
        import torch

        torch.set_num_threads(threads)
    logger.info("rule %s, wildcards %s, threads %d", snakemake.rule, dict(snakemake.wildcards), threads)
    gpus = int(getattr(snakemake.resources, "gpu", 0) or 0)
    lease = assign_gpus(gpus) if gpus else None
    try:
        work(snakemake)
    except expected_errors() as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        logger.error("%s", message)
        raise SystemExit(f"csbench {snakemake.rule}: {message}") from None
    finally:
        if lease is not None:
            lease.release()
    logger.info("done")


def _needs_torch(snakemake: Any) -> bool:
    return snakemake.rule not in {"synthesize_pair", "synthesize_monolingual", "summarize", "plot",
                                  "merge_recipe", "check_leakage"}
