"""Render a csbench HTML report in headless Chromium, screenshot it, check every figure.

Usage (from the repository root)::

    # an existing report (after `snakemake --report results/report.html`)
    python scripts/screenshot_report.py results/report.html --out results/report_check

    # re-render the report stage from a study's stored predictions in a scratch folder
    # (the study's own results/ is only read), then check that report
    python scripts/screenshot_report.py --from-results results --config config.yaml --out /tmp/check

Exits 1 when a figure does not render (each check is printed), 2 without Chromium.
Chromium on Debian/Ubuntu: ``apt-get install chromium``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml  # noqa: E402

from csbench.report.browser import check_report, find_chromium  # noqa: E402
from csbench.report.standalone import prepare_report_workdir, run_report_stage  # noqa: E402


def render_from_results(results: Path, config: Path, workdir: Path) -> Path:
    """Copy predictions and test manifests of ``results`` into ``workdir``; run the report stage."""
    predictions = sorted((results / "predictions").rglob("*.json"))
    if not predictions:
        raise SystemExit(f"no predictions under {results / 'predictions'}")
    pairs = {path.stem for path in predictions}
    manifests = {pair: results / "data/pairs" / pair / "test.jsonl" for pair in sorted(pairs)}
    prepare_report_workdir(workdir, yaml.safe_load(config.read_text(encoding="utf-8")), predictions, manifests,
                           predictions_root=results / "predictions")
    return run_report_stage(workdir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", nargs="?", type=Path, help="a Snakemake HTML report")
    parser.add_argument("--from-results", type=Path, help="a study's results folder to re-render from")
    parser.add_argument("--config", type=Path, default=Path("config.yaml"), help="that study's config")
    parser.add_argument("--out", type=Path, required=True, help="folder for screenshots (and the scratch run)")
    parser.add_argument("--window", default="1400,2000", help="browser window WIDTH,HEIGHT")
    args = parser.parse_args(argv)
    if (args.report is None) == (args.from_results is None):
        parser.error("give either a report or --from-results")
    chromium = find_chromium()
    if chromium is None:
        print("no Chromium on PATH: apt-get install chromium", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    report = args.report
    if args.from_results is not None:
        workdir = Path(tempfile.mkdtemp(prefix="report-stage-", dir=args.out))
        report = render_from_results(args.from_results, args.config, workdir)
    width, height = (int(part) for part in args.window.split(","))
    check = check_report(report, args.out, chromium, window=(width, height))
    print("\n".join(check.lines()))
    return 0 if check.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
