"""Run only the report stage (rules/report.smk) on stored predictions, in a scratch folder.

Why: the report rules, their scripts, captions and ``snakemake --report`` should be
testable in seconds, without training anything, and a study's report should be
re-renderable from its predictions without touching the study's own results folder. This
writes a small Snakefile that defines what rules/report.smk needs from rules/common.smk
(``EVAL_PAIRS``, ``prediction_files``) for the given files and includes the real
rules/report.smk, so exactly the production rules run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]

_SNAKEFILE = """\
# Report stage only, on stored predictions (written by csbench.report.standalone).
from snakemake.utils import validate


configfile: "config.yaml"


# The schema's defaults, as every job of a study sees them (the budget, scoring options).
validate(config, schema={schema!r})


report: {workflow_rst!r}


import sys

sys.path.insert(0, {repo!r})

from csbench.study import SUMMARY_CSV, pair_manifest

EVAL_PAIRS = {eval_pairs!r}


def prediction_files():
    return {prediction_files!r}


include: {report_smk!r}


rule all:
    default_target: True
    input:
        rules.summarize.output,
        rules.plot.output,
"""


def _relative_to(path: Path, root: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()


def prepare_report_workdir(
    workdir: str | Path,
    config: dict,
    predictions: Iterable[str | Path],
    manifests: dict[str, str | Path],
    predictions_root: str | Path | None = None,
) -> Path:
    """Lay out ``workdir`` like a study's results folder and write its Snakefile.

    ``config`` is the study's config (validated, defaults filled in, as the study's jobs see it).

    ``predictions`` are copied to ``results/predictions/<path below predictions_root>``
    (default: below their common ``predictions`` folder) and ``manifests`` (pair → test
    manifest) to ``results/data/pairs/<pair>/test.jsonl``; audio is not needed to score.
    """
    workdir = Path(workdir)
    predictions = [Path(path) for path in predictions]
    if predictions_root is None:
        root = predictions[0].resolve()
        while root.name != "predictions" and root != root.parent:
            root = root.parent
        predictions_root = root
    files = []
    for path in predictions:
        target = workdir / "results/predictions" / _relative_to(path, Path(predictions_root))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        files.append(target.relative_to(workdir).as_posix())
    for pair, manifest in manifests.items():
        target = workdir / "results/data/pairs" / pair / "test.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(manifest, target)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    snakefile = workdir / "Snakefile"
    snakefile.write_text(
        _SNAKEFILE.format(
            workflow_rst=str(REPO / "report" / "workflow.rst"),
            eval_pairs=sorted(manifests),
            prediction_files=files,
            report_smk=str(REPO / "rules" / "report.smk"),
            schema=str(REPO / "schemas" / "config.schema.yaml"),
            repo=str(REPO),
        ),
        encoding="utf-8",
    )
    return snakefile


def run_report_stage(workdir: str | Path, report: str = "report.html", timeout: float = 600) -> Path:
    """Run summarize and plot in ``workdir``, then ``snakemake --report``; return the HTML path."""
    workdir = Path(workdir)
    base = [sys.executable, "-m", "snakemake", "-s", str(workdir / "Snakefile"), "--directory", str(workdir)]
    for arguments in (["--cores", "1"], ["--report", report]):
        result = subprocess.run([*base, *arguments], capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"snakemake {' '.join(arguments)} failed:\n{result.stderr[-4000:]}")
    return workdir / report
