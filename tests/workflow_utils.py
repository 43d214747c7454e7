"""Running the real workflow from tests: Snakemake as a subprocess, and its job table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_snakemake(workdir: Path, config: Path, *args: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    """`snakemake -s REPO/Snakefile --directory WORKDIR --configfile CONFIG ARGS`."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
         "--configfile", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def job_counts(output: str) -> dict[str, int]:
    """Parse the 'job  count' table that `snakemake -n` prints (without the total)."""
    counts: dict[str, int] = {}
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["job", "count"])
    for line in lines[start + 2 :]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        if parts[0] != "total":
            counts[parts[0]] = int(parts[1])
    return counts


def planned_jobs(workdir: Path, config: Path, timeout: int = 300) -> dict[str, int]:
    """Jobs per rule that `snakemake -n` plans for CONFIG in WORKDIR (fails the test on error)."""
    result = run_snakemake(workdir, config, "-n", "--quiet", "rules", timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return job_counts(result.stdout + result.stderr)
