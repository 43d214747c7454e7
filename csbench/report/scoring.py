"""Score stored predictions against the test manifests into tidy rows with statistics.

Why scoring lives here and not at decoding time: predictions are stored raw, so a change of
normalization or a new metric re-scores them in seconds without decoding again (Open ASR
Leaderboard practice). The test manifests are read again because the code-switching
metrics need what a prediction file does not hold: the per-word language tags (PIER,
per-language error rates) and each utterance's matrix language (PIER's points of interest).

What a row holds (one per model × pair × metric):

- ``configuration``/``seed``: the model id without its replicate suffix and the training seed
  (the study's ``seed`` for unsuffixed ids; empty for a pretrained base that every seed
  shares, set for the local base, which is trained once per seed as ``base@N``): replicates
  over ``seeds`` share a configuration (:mod:`.seeds` aggregates them).
- ``value``: the corpus-level rate (total edits / total reference tokens); for ``mer_hike``
  and ``mer_hike_<level>`` (``evaluate.hike_scoring``) the MEAN of per-utterance rates under
  HiKE's conventions (:mod:`csbench.hike`), with a bootstrap interval of that mean.
- ``ci_low``/``ci_high``: a percentile bootstrap interval over *utterances* for every metric
  that has per-utterance edit counts (mer, wer, cer, pier, error_rate_<lang>); empty for
  ``script_confusion`` and ``language_swap``, token fractions without per-utterance
  edit counts.
- ``p_vs_base``/``p_vs_best_finetune`` (``mer`` rows only): Koehn's paired bootstrap p-value
  for "this model has a lower MER than the base (its own seed's, where bases are trained
  per seed) / than the best single-pair fine-tune on
  this pair" (one-sided; small is significant). ``best_finetune`` names that fine-tune
  (lowest MER on the pair among every fine-tune, any mode). A model is not compared with
  itself (empty cell).
- ``diff_vs_base_low``/``_high`` and ``diff_vs_best_finetune_low``/``_high`` (``mer`` rows
  only): the paired bootstrap interval of this model's MER minus the base's / the best
  fine-tune's on the same utterances. Below zero: better. Its half-width is the smallest
  difference this test set resolves.

Every bootstrap uses the study's seed, so the same utterances are resampled for every
model of a pair (common random numbers) and reruns are byte-identical.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from csbench.data.manifest import Utterance, read_manifest
from csbench.hike import hike_mer
from csbench.languages import pair_languages
from csbench.metrics import (
    ErrorCounts,
    bootstrap_ci,
    character_error_counts,
    language_swap_rate,
    mean_bootstrap_ci,
    mixed_error_counts,
    paired_bootstrap,
    paired_difference_ci,
    per_language_error_counts,
    pier_error_counts,
    script_confusion_rate,
    word_error_counts,
)
from csbench.study import ModelId, seed_of

logger = logging.getLogger(__name__)

#: Metrics computed from the transcripts alone, in the order rows are written.
TEXT_METRICS = {"mer": mixed_error_counts, "wer": word_error_counts, "cer": character_error_counts}
#: Prefix of the per-language error-rate metrics: ``error_rate_en``, ``error_rate_ko``, ...
LANGUAGE_METRIC_PREFIX = "error_rate_"
#: ``configuration`` is the model id without its replicate (what the training seeds share),
#: ``seed`` the training seed (empty for the base).
MODEL_COLUMNS = ["model", "kind", "method", "mode", "members", "n_members", "configuration", "seed"]
#: summary.csv's columns: the original ones first (readers index them by name), then the
#: statistics added for publication.
SUMMARY_COLUMNS = [
    *MODEL_COLUMNS,
    "pair",
    "pair_type",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "p_vs_base",
    "p_vs_best_finetune",
    "best_finetune",
    "diff_vs_base_low",
    "diff_vs_base_high",
    "diff_vs_best_finetune_low",
    "diff_vs_best_finetune_high",
    "n_utterances",
    "n_tokens",
    "rtfx",
    "language_mode",
]


def describe_model(model_id: str) -> dict[str, object]:
    """A model id's columns in summary.csv (kind, method, mode, members), from `csbench.study`."""
    return ModelId.parse(model_id).columns()


@dataclass
class ScoredRun:
    """One model on one pair: per-utterance counts per metric and count-free metrics.

    Per-utterance counts are kept (not just rates) because the bootstrap resamples
    utterances and the paired test needs both systems' counts on the same utterances.
    """

    model: str
    pair: str
    n_utterances: int
    rtfx: float
    language_mode: str
    counts: dict[str, list[ErrorCounts]] = field(default_factory=dict)
    values: dict[str, tuple[float, int | None]] = field(default_factory=dict)
    #: Metrics reported as a MEAN of per-utterance rates (HiKE's convention, ``mer_hike``).
    means: dict[str, list[float]] = field(default_factory=dict)


def manifests_by_pair(paths: Iterable[str | Path]) -> dict[str, list[Utterance]]:
    """Test manifests keyed by pair, the pair being the manifest's folder name.

    The workflow stores them as ``results/data/pairs/{pair}/test.jsonl``, so the folder
    is the canonical pair id whatever the rows' own ``pair`` fields say.
    """
    return {Path(path).parent.name: read_manifest(path) for path in paths}


def _ordered_utterances(data: dict, manifest: list[Utterance] | None, where: str) -> list[dict]:
    """The prediction's utterances in manifest order (or by id without a manifest).

    One fixed order per pair is what makes the paired bootstrap pair the same utterances.
    """
    by_id = {u["id"]: u for u in data["utterances"]}
    if manifest is None:
        return [by_id[key] for key in sorted(by_id)]
    expected = [u.id for u in manifest]
    if set(expected) != set(by_id):
        missing = sorted(set(expected) - set(by_id))[:3]
        extra = sorted(set(by_id) - set(expected))[:3]
        raise ValueError(
            f"{where}: predictions do not cover the test manifest's utterances "
            f"(missing {missing}, not in manifest {extra}); re-run its evaluation"
        )
    return [by_id[key] for key in expected]


def _tagged_metrics(run: ScoredRun, manifest: list[Utterance], hypotheses: list[str]) -> None:
    """PIER and per-language counts, when every utterance carries language tags."""
    if not all(u.tokens for u in manifest):
        logger.info("%s on %s: manifest lacks language tags; no PIER or per-language rates",
                    run.model, run.pair)
        return
    tagged = [list(u.tokens) for u in manifest]
    if all(u.matrix_lang for u in manifest):
        pier_counts = pier_error_counts(tagged, hypotheses, [u.matrix_lang for u in manifest])
        if sum(c.reference_tokens for c in pier_counts) > 0:
            run.counts["pier"] = pier_counts
    # Per utterance, so each language gets per-utterance counts for the bootstrap; every
    # utterance is aligned on its own, so the sums equal the corpus-level counts.
    per_utterance = [per_language_error_counts([t], [h]) for t, h in zip(tagged, hypotheses, strict=True)]
    languages = sorted({language for counts in per_utterance for language in counts})
    for language in languages:
        run.counts[LANGUAGE_METRIC_PREFIX + language] = [
            counts.get(language, ErrorCounts()) for counts in per_utterance
        ]
    try:
        swap = language_swap_rate(tagged, hypotheses, pair_languages(run.pair))
    except ValueError as error:  # a language without a known script, or no reference tokens
        logger.warning("%s on %s: no language swap rate (%s)", run.model, run.pair, error)
    else:
        run.values["language_swap"] = (swap, None)


def _hike_metrics(run: ScoredRun, manifest: list[Utterance] | None, references: list[str],
                  hypotheses: list[str]) -> None:
    """``mer_hike`` (and ``mer_hike_<level>``): HiKE's per-utterance MERs (csbench.hike)."""
    loanwords = [u.loanwords for u in manifest] if manifest is not None else [()] * len(references)
    rates = hike_mer(references, hypotheses, loanwords)
    run.means["mer_hike"] = rates
    if manifest is not None and all(u.cs_level for u in manifest):
        for level in sorted({u.cs_level for u in manifest}):
            run.means[f"mer_hike_{level}"] = [r for r, u in zip(rates, manifest, strict=True) if u.cs_level == level]


def score_run(data: dict, manifest: list[Utterance] | None, where: str = "", hike: bool = False) -> ScoredRun:
    """Per-utterance counts of every metric for one predictions JSON object (with `hike`, also
    HiKE's per-utterance-mean MER)."""
    where = where or f"{data['model']} on {data['pair']}"
    utterances = _ordered_utterances(data, manifest, where)
    references = [u["reference"] for u in utterances]
    hypotheses = [u["hypothesis"] for u in utterances]
    run = ScoredRun(
        model=data["model"],
        pair=data["pair"],
        n_utterances=len(utterances),
        rtfx=float(data.get("timing", {}).get("rtfx", float("nan"))),
        language_mode=str(data.get("language_mode", "")),
    )
    for metric, counter in TEXT_METRICS.items():
        run.counts[metric] = counter(references, hypotheses)
    if manifest is not None:
        _tagged_metrics(run, manifest, hypotheses)
    if hike:
        _hike_metrics(run, manifest, references, hypotheses)
    try:
        run.values["script_confusion"] = (script_confusion_rate(hypotheses, pair_languages(data["pair"])), None)
    except ValueError as error:  # a language without a known script: say so, skip the metric
        logger.warning("%s: no script confusion (%s)", where, error)
    return run


def _rate(counts: Sequence[ErrorCounts]) -> float:
    return sum(counts, ErrorCounts()).rate


def _paired_p_values(
    runs: list[ScoredRun], n_resamples: int, seed: int, confidence: float = 0.95
) -> dict[tuple[str, str], dict]:
    """Per (model, pair): p-values and difference intervals of MER against the base and the
    best fine-tune."""
    results: dict[tuple[str, str], dict] = {}
    for pair in sorted({run.pair for run in runs}):
        on_pair = [run for run in runs if run.pair == pair]
        by_model = {run.model: run for run in on_pair}
        finetunes = [run for run in on_pair if ModelId.parse(run.model).kind == "finetune"]
        best = min(finetunes, key=lambda run: (_rate(run.counts["mer"]), run.model)) if finetunes else None
        for run in on_pair:
            # its own seed's base where every seed trains one (local-tiny), else the shared one
            base = by_model.get(ModelId.parse(run.model).reference_base(by_model))
            entry: dict[str, object] = {"best_finetune": best.model if best else ""}
            for name, reference in (("base", base), ("best_finetune", best)):
                if reference is None or reference is run:
                    entry[f"p_vs_{name}"] = float("nan")
                    entry[f"diff_vs_{name}_low"] = entry[f"diff_vs_{name}_high"] = float("nan")
                    continue
                mine, theirs = run.counts["mer"], reference.counts["mer"]
                entry[f"p_vs_{name}"] = paired_bootstrap(mine, theirs, n_resamples=n_resamples, seed=seed)
                entry[f"diff_vs_{name}_low"], entry[f"diff_vs_{name}_high"] = paired_difference_ci(
                    mine, theirs, n_resamples=n_resamples, seed=seed, confidence=confidence)
            results[(run.model, pair)] = entry
    return results


def summary_rows(
    runs: list[ScoredRun],
    seen_pairs: Sequence[str],
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The tidy table: one row per run × metric, with CIs and paired p-values."""
    p_values = _paired_p_values(runs, n_resamples, seed, confidence)
    # A base has a seed when it is trained once per seed (base@N beside base), none when
    # every seed shares one pretrained base.
    seeded_base = any(ModelId.parse(run.model).kind == "base" and run.model != "base" for run in runs)
    rows = []
    for run in runs:
        model = ModelId.parse(run.model)
        unseeded = model.kind == "base" and not seeded_base
        shared = {
            **describe_model(run.model),
            "seed": pd.NA if unseeded else seed_of(model.replicate, {"seed": seed}),
            "pair": run.pair,
            "pair_type": "seen" if run.pair in seen_pairs else "unseen",
            "n_utterances": run.n_utterances,
            "rtfx": run.rtfx,
            "language_mode": run.language_mode,
        }
        for metric, counts in run.counts.items():
            low, high = bootstrap_ci(counts, n_resamples=n_resamples, seed=seed, confidence=confidence)
            row = {**shared, "metric": metric, "value": _rate(counts), "ci_low": low, "ci_high": high,
                   "n_tokens": sum(c.reference_tokens for c in counts)}
            if metric == "mer":
                row.update(p_values[(run.model, run.pair)])
            rows.append(row)
        for metric, (value, n_tokens) in run.values.items():
            rows.append({**shared, "metric": metric, "value": value, "n_tokens": n_tokens})
        for metric, rates in run.means.items():
            low, high = mean_bootstrap_ci(rates, n_resamples=n_resamples, seed=seed, confidence=confidence)
            rows.append({**shared, "metric": metric, "value": float(np.mean(rates)), "ci_low": low, "ci_high": high,
                         "n_utterances": len(rates)})
    table = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    table["n_tokens"] = table["n_tokens"].astype("Int64")  # a count: "1581", not "1581.000000"
    table["seed"] = table["seed"].astype("Int64")
    return table.sort_values(["kind", "model", "pair", "metric"], kind="stable").reset_index(drop=True)


def score_predictions(
    prediction_files: Iterable[str | Path],
    seen_pairs: Sequence[str],
    manifests: Iterable[str | Path] | dict[str, list[Utterance]] | None = None,
    seed: int = 0,
    n_resamples: int = 1000,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Score every predictions file into the tidy summary (see the module docstring).

    ``manifests`` are the pairs' test manifests (paths, or already read, keyed by pair);
    without one for a pair, only the transcript metrics (mer, wer, cer, script confusion)
    are scored for it.
    """
    runs = score_runs(prediction_files, manifests)
    return summary_rows(runs, seen_pairs, n_resamples=n_resamples, seed=seed, confidence=confidence)


def score_runs(
    prediction_files: Iterable[str | Path],
    manifests: Iterable[str | Path] | dict[str, list[Utterance]] | None = None,
    hike: bool = False,
) -> list[ScoredRun]:
    """Per-utterance counts of every predictions file (what the summary and the answer use);
    `hike` adds HiKE's per-utterance-mean MER (``evaluate.hike_scoring``)."""
    if manifests is None:
        by_pair: dict[str, list[Utterance]] = {}
    elif isinstance(manifests, dict):
        by_pair = manifests
    else:
        by_pair = manifests_by_pair(manifests)
    runs = []
    for path in prediction_files:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        runs.append(score_run(data, by_pair.get(data["pair"]), where=str(path), hike=hike))
    return runs
