"""Job records and the timing tables: hand-made intervals, then the real micro study."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from csbench.report.timing import JobRecord, peak_threads, read_job_records, timing_tables, union_seconds


def _record(rule: str, threads: int, started: float, ended: float, cpu_seconds: float | None = None) -> JobRecord:
    return JobRecord(rule, f"{rule}.log", threads, started, ended, cpu_seconds)


def test_union_of_intervals_counts_overlaps_once() -> None:
    assert union_seconds([(0, 10), (5, 12), (20, 21)]) == 13
    assert union_seconds([(3, 4)]) == 1
    assert union_seconds([]) == 0


def test_peak_threads_finds_the_oversubscribed_instant() -> None:
    records = [_record("finetune", 2, 0, 10), _record("train_dg", 2, 9, 20), _record("evaluate", 1, 10, 11)]
    peak, jobs = peak_threads(records)
    assert peak == 4 and [job.rule for job in jobs] == ["finetune", "train_dg"]
    # A job starting exactly when another ends does not overlap it.
    assert peak_threads([_record("a", 2, 0, 5), _record("b", 2, 5, 9)])[0] == 2


def test_timing_tables_name_every_stage() -> None:
    records = [_record("synthesize_pair", 1, 0, 2), _record("finetune", 2, 2, 12), _record("evaluate", 1, 12, 15),
               _record("evaluate", 1, 12, 14)]
    table = timing_tables(records)
    assert "4 jobs, first start to last end 15 s" in table and "at most 2 threads at once" in table
    assert "| evaluate | 2 | 3 | 5 | 2.5 | 3.0 | – |" in table  # no CPU seconds in these records
    assert "| fine-tune | 1 | 10 | 10 | 10.0 | 10.0 | – |" in table
    assert "cores used" not in table.splitlines()[0]


def test_idle_cores_show_as_threads_held_and_cores_used() -> None:
    """Over 0-20 s on 2 cores: a 2-thread job using 1.5 cores for 10 s, then one 1-thread job
    using its core fully: held (20 + 10) / 40 = 75 %, used (15 + 10) / 40 = 62 %."""
    records = [_record("pretrain_local_base", 2, 0, 10, cpu_seconds=15), _record("finetune", 1, 10, 20, 10)]
    table = timing_tables(records, cores=2)
    assert table.splitlines()[0].endswith("of 2 cores over the span, threads held 75%, cores used 62%")
    assert "| threads held | 2.0 | 2.0 | 2.0 | 2.0 | 2.0 | 1.0 | 1.0 | 1.0 | 1.0 | 1.0 |" in table
    assert "| cores used | 1.5 | 1.5 | 1.5 | 1.5 | 1.5 | 1.0 | 1.0 | 1.0 | 1.0 | 1.0 |" in table
    assert "| base | 1 | 10 | 10 | 10.0 | 10.0 | 1.50 |" in table


@pytest.mark.workflow
def test_cores_were_never_oversubscribed(micro_study: Path) -> None:
    """The micro study ran with --cores 2: at no instant did its jobs hold more than 2 threads.

    Snakemake 9.10-9.15 broke this (issue 3913: several threads=2 jobs started at once on 2
    cores when a shared prerequisite finished); the records are each job's own process
    start and end, written by csbench.workflow.run_job.
    """
    records = read_job_records(micro_study / "results")
    logs = list((micro_study / "results/logs").rglob("*.log"))
    assert len(records) == len(logs) > 20  # every job left its record
    assert {"pretrain_local_base", "finetune", "train_dg", "evaluate"} <= {r.rule for r in records}
    peak, jobs = peak_threads(records)
    assert peak <= 2, [(job.rule, job.log, job.threads) for job in jobs]


@pytest.mark.workflow
def test_every_torch_job_names_its_numerical_environment(micro_study: Path) -> None:
    """Bit-identical results need the same library versions and kernels: each model's log says which."""
    import torch

    for log in ("base/local-tiny.log", "finetune/full/en-ko.log", "evaluate/base.log"):
        lines = [line for line in (micro_study / "results/logs" / log).read_text().splitlines()
                 if "environment: " in line]
        assert len(lines) == 1, log
        assert f"torch {torch.__version__}," in lines[0] and "transformers " in lines[0]
        assert f"cpu {torch.backends.cpu.get_cpu_capability()}," in lines[0]
        # A positive rate each; below 10 GFLOP/s with one decimal (emulated bf16: ~2 on AVX2).
        assert re.search(r"matmul GFLOP/s fp32 [1-9]\d*(\.\d)?, bf16 ([1-9]\d*(\.\d)?|0\.[1-9])", lines[0]), lines[0]


@pytest.mark.workflow
def test_timing_command_prints_stage_and_rule_tables(micro_study: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "csbench.report.timing", str(micro_study / "results")],
                            capture_output=True, text=True, check=True)
    for stage in ("data", "base", "fine-tune", "domain generalization", "merge", "evaluate", "report"):
        assert f"| {stage} |" in result.stdout
    assert "| pretrain_local_base | 1 |" in result.stdout
    # Every job recorded its CPU seconds: the utilization line and profile are complete.
    assert all(r.cpu_seconds is not None and r.cpu_seconds > 0 for r in read_job_records(micro_study / "results"))
    assert re.search(r"threads held \d+%, cores used \d+%", result.stdout.splitlines()[0]), result.stdout
    assert "| cores used |" in result.stdout
