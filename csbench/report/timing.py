"""Where a run's time went: per stage and per rule, from the jobs' own records.

Every csbench job ends its log with a `csbench-job` record (see `csbench.workflow`): rule,
threads, the start of its process (imports and model loading count, as they do for the
user) and its end. Snakemake's benchmark files add memory but no start times, so wall
time per stage (the union of its jobs' intervals, what a user waits for) and the number of
threads running at once can only come from these records.

Run after a study: `python -m csbench.report.timing [results]` prints Markdown tables.
"""

from __future__ import annotations

import json
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
    """One finished job: which rule, its log, how many threads, when it ran."""

    rule: str
    log: str
    threads: int
    started: float
    ended: float

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
                records.append(JobRecord(data["rule"], str(log), int(data["threads"]), data["started"], data["ended"]))
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


def _row(name: str, records: list[JobRecord]) -> list[str]:
    seconds = [r.seconds for r in records]
    wall = union_seconds([(r.started, r.ended) for r in records])
    return [name, str(len(records)), f"{wall:.0f}", f"{sum(seconds):.0f}", f"{sum(seconds) / len(seconds):.1f}",
            f"{max(seconds):.1f}"]


def timing_tables(records: list[JobRecord]) -> str:
    """Markdown: the run's span, then time per stage and per rule."""
    if not records:
        return "no job records found (run the workflow first)\n"
    header = "| {} | jobs | wall s | job s (sum) | mean job s | max job s |\n|---|---|---|---|---|---|\n"
    span = max(r.ended for r in records) - min(r.started for r in records)
    peak, _ = peak_threads(records)
    lines = [f"{len(records)} jobs, first start to last end {span:.0f} s ({span / 60:.1f} min); "
             f"at most {peak} threads at once\n\n", header.format("stage")]
    order = [*STAGES, "other"]
    by_stage = {stage: [r for r in records if stage_of(r.rule) == stage] for stage in order}
    lines += ["| " + " | ".join(_row(stage, rows)) + " |\n" for stage, rows in by_stage.items() if rows]
    lines += ["\n", header.format("rule")]
    rules = sorted({r.rule for r in records}, key=lambda rule: (order.index(stage_of(rule)), rule))
    lines += ["| " + " | ".join(_row(rule, [r for r in records if r.rule == rule])) + " |\n" for rule in rules]
    return "".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    sys.stdout.write(timing_tables(read_job_records(args[0] if args else "results")))


if __name__ == "__main__":
    main()
