"""Where a run's time went: per stage and per rule, from the jobs' own records.

Every csbench job ends its log with a `csbench-job` record (see `csbench.workflow`): rule,
threads, the start of its process (imports and model loading count, as they do for the
user), its end and the CPU seconds it used. Snakemake's benchmark files add memory but no
start times, so wall time per stage (the union of its jobs' intervals, what a user waits
for), the number of threads running at once and the cores left idle can only come from
these records.

Idle cores are counted two ways: threads *held* (what Snakemake reserved; a core no job
holds is one the scheduler left idle) and cores *used* (CPU seconds over wall seconds; a
2-thread job that uses 1.4 cores wastes 0.6 of one). The profile over the run spreads each
job's CPU seconds evenly over its interval, an approximation within a job.

Run after a study: `python -m csbench.report.timing [results] [--cores N]` prints Markdown
(N defaults to this machine's CPU count, the capacity the utilization is measured against).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from csbench.workflow import JOB_RECORD_PREFIX

#: The workflow's stages, in DAG order, and the rules that make them up.
STAGES: dict[str, tuple[str, ...]] = {
    "data": ("synthesize_pair", "synthesize_monolingual", "prepare_pair", "check_leakage", "download_model",
             "download_dataset"),
    "base": ("pretrain_local_base",),
    "fine-tune": ("finetune",),
    "domain generalization": ("train_dg", "select_dg"),
    "merge": ("merge_recipe", "analyze_task_vectors"),
    "evaluate": ("evaluate",),
    "report": ("summarize", "plot"),
}


@dataclass(frozen=True)
class JobRecord:
    """One finished job: which rule, its log, how many threads, when it ran, its CPU seconds
    (None in records written before csbench kept them)."""

    rule: str
    log: str
    threads: int
    started: float
    ended: float
    cpu_seconds: float | None = None

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def stage_of(rule: str) -> str:
    for stage, rules in STAGES.items():
        if rule in rules:
            return stage
    return "other"


def read_job_records(results: str | Path) -> list[JobRecord]:
    """The record of every finished job under `results/logs` (jobs that failed have none)."""
    records = []
    for log in sorted(Path(results, "logs").rglob("*.log")):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            _, marker, payload = line.partition(f"{JOB_RECORD_PREFIX} ")
            if marker:
                data = json.loads(payload)
                records.append(JobRecord(data["rule"], str(log), int(data["threads"]), data["started"], data["ended"],
                                         data.get("cpu_s")))
    return records


def union_seconds(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of [start, end] intervals (wall time during which any ran)."""
    total, current_start, current_end = 0.0, None, None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start
    return total


#: Start times have the kernel's 10 ms tick resolution: overlaps shorter than this are noise.
OVERLAP_TOLERANCE_S = 0.05


def peak_threads(records: list[JobRecord], tolerance_s: float = OVERLAP_TOLERANCE_S) -> tuple[int, list[JobRecord]]:
    """The most threads held at one instant, and the jobs that held them then.

    A job counts from `tolerance_s` after its recorded start; an end and a start at the
    same instant do not overlap (ends sort first).
    """
    events = sorted(
        [(min(r.started + tolerance_s, r.ended), 1, i) for i, r in enumerate(records)]
        + [(r.ended, 0, i) for i, r in enumerate(records)]
    )
    running: set[int] = set()
    peak, peak_jobs = 0, []
    for _, is_start, index in events:
        if is_start:
            running.add(index)
            held = sum(records[i].threads for i in running)
            if held > peak:
                peak, peak_jobs = held, [records[i] for i in sorted(running)]
        else:
            running.discard(index)
    return peak, peak_jobs


def has_cpu_seconds(records: list[JobRecord]) -> bool:
    """Whether every record kept its CPU seconds (older records did not)."""
    return all(r.cpu_seconds is not None for r in records)


def _cores_used(records: list[JobRecord]) -> str:
    """CPU seconds over wall seconds of `records`, or '–' where a record lacks CPU seconds."""
    if not has_cpu_seconds(records):
        return "–"
    seconds = sum(r.seconds for r in records)
    return f"{sum(r.cpu_seconds for r in records) / seconds:.2f}" if seconds > 0 else "–"


def _row(name: str, records: list[JobRecord]) -> list[str]:
    seconds = [r.seconds for r in records]
    wall = union_seconds([(r.started, r.ended) for r in records])
    return [name, str(len(records)), f"{wall:.0f}", f"{sum(seconds):.0f}", f"{sum(seconds) / len(seconds):.1f}",
            f"{max(seconds):.1f}", _cores_used(records)]


def utilization_profile(records: list[JobRecord], slices: int = 10) -> list[tuple[float, float | None]]:
    """Mean threads held and mean cores used in each of `slices` equal parts of the run's span.

    Cores used spreads each job's CPU seconds evenly over its interval (None when a record
    lacks them).
    """
    first, last = min(r.started for r in records), max(r.ended for r in records)
    width = (last - first) / slices
    with_cpu = has_cpu_seconds(records)
    profile = []
    for index in range(slices):
        low, high = first + index * width, first + (index + 1) * width
        held = used = 0.0
        for r in records:
            inside = max(0.0, min(r.ended, high) - max(r.started, low))
            held += r.threads * inside
            if with_cpu and r.seconds > 0:
                used += r.cpu_seconds * inside / r.seconds
        profile.append((held / width, used / width if with_cpu else None) if width > 0 else (0.0, None))
    return profile


def timing_tables(records: list[JobRecord], cores: int | None = None) -> str:
    """Markdown: the run's span and idle cores, the profile over the run, then time per stage
    and per rule. `cores` is the capacity utilization is measured against (None: not shown)."""
    if not records:
        return "no job records found (run the workflow first)\n"
    header = ("| {} | jobs | wall s | job s (sum) | mean job s | max job s | cores used |\n"
              "|---|---|---|---|---|---|---|\n")
    span = max(r.ended for r in records) - min(r.started for r in records)
    peak, _ = peak_threads(records)
    summary = (f"{len(records)} jobs, first start to last end {span:.0f} s ({span / 60:.1f} min); "
               f"at most {peak} threads at once")
    if cores and span > 0:
        held = sum(r.threads * r.seconds for r in records) / (span * cores)
        summary += f"; of {cores} cores over the span, threads held {held:.0%}"
        if has_cpu_seconds(records):
            summary += f", cores used {sum(r.cpu_seconds for r in records) / (span * cores):.0%}"
    lines = [summary + "\n\n"]
    profile = utilization_profile(records)
    lines += ["| tenth of the span | " + " | ".join(str(i + 1) for i in range(len(profile))) + " |\n",
              "|---|" + "---|" * len(profile) + "\n",
              "| threads held | " + " | ".join(f"{held:.1f}" for held, _ in profile) + " |\n"]
    if has_cpu_seconds(records):
        lines.append("| cores used | " + " | ".join(f"{used:.1f}" for _, used in profile) + " |\n")
    lines += ["\n", header.format("stage")]
    order = [*STAGES, "other"]
    by_stage = {stage: [r for r in records if stage_of(r.rule) == stage] for stage in order}
    lines += ["| " + " | ".join(_row(stage, rows)) + " |\n" for stage, rows in by_stage.items() if rows]
    lines += ["\n", header.format("rule")]
    rules = sorted({r.rule for r in records}, key=lambda rule: (order.index(stage_of(rule)), rule))
    lines += ["| " + " | ".join(_row(rule, [r for r in records if r.rule == rule])) + " |\n" for rule in rules]
    return "".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m csbench.report.timing", description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default="results")
    parser.add_argument("--cores", type=int, default=os.cpu_count(),
                        help="the capacity utilization is measured against (default: this machine's CPUs)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    sys.stdout.write(timing_tables(read_job_records(args.results), args.cores))


if __name__ == "__main__":
    main()
