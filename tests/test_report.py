"""Report stage: tidy scoring with statistics, paper tables, plots, and the HTML report.

The scoring tests use hand-made predictions whose rates are computed by hand below, so a
change in tokenization, attribution or aggregation shows up as a wrong number here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from csbench.report import tables
from csbench.report.plots import mer_heatmap, merge_scaling, per_language_bars, seen_vs_unseen
from csbench.report.scoring import SUMMARY_COLUMNS, describe_model, score_predictions
from csbench.report.tables import (
    confidence_tables,
    paper_table,
    per_pair_markdown,
    to_latex,
    to_markdown,
    write_parquet,
)

REPO = Path(__file__).resolve().parents[1]
SEEN, UNSEEN = "en-ko", "de-en"

# en-ko test set. Mixed tokens: u1 hello|세|계 (matrix ko: hello is the point of interest),
# u2 good|아|침|friend (matrix en: 아, 침), u3 나|meeting (matrix ko: meeting).
# 9 tokens: en = hello, good, friend, meeting (4); ko = 세, 계, 아, 침, 나 (5); 4 points of interest.
EN_KO = [
    {"id": "u1", "text": "Hello 세계", "tokens": [["Hello", "en"], ["세계", "ko"]], "matrix_lang": "ko"},
    {"id": "u2", "text": "good 아침 friend", "tokens": [["good", "en"], ["아침", "ko"], ["friend", "en"]],
     "matrix_lang": "en"},
    {"id": "u3", "text": "나 meeting", "tokens": [["나", "ko"], ["meeting", "en"]], "matrix_lang": "ko"},
]
# de-en test set: guten|morgen|friend (matrix de: friend), the|haus (matrix en: haus). 5 tokens.
DE_EN = [
    {"id": "v1", "text": "guten Morgen friend", "tokens": [["guten", "de"], ["Morgen", "de"], ["friend", "en"]],
     "matrix_lang": "de"},
    {"id": "v2", "text": "the Haus", "tokens": [["the", "en"], ["Haus", "de"]], "matrix_lang": "en"},
]
# Hypotheses per model, in manifest order.
HYPOTHESES = {
    SEEN: {
        # u2: friend deleted (en); u3: 나 → 너 (ko). MER 2/9, en 1/4, ko 1/5, PIER 0/4.
        "base": ["hello, 세계!", "good 아침", "너 meeting"],
        # perfect
        "finetune/full/en-ko": ["hello 세계", "good 아침 friend", "나 meeting"],
        # u3: meeting → meting (en, a point of interest). MER 1/9, en 1/4, PIER 1/4.
        "finetune/lora/en-ko": ["hello 세계", "good 아침 friend", "나 meting"],
        # u2: 아침 → あさ, two substitutions written in kana: MER 2/9, ko 2/5, PIER 2/4,
        # script confusion 2 of 9 letter tokens.
        "merge/ties/full/en-ja+en-ko": ["hello 세계", "good あさ friend", "나 meeting"],
    },
    UNSEEN: {
        "base": ["guten morgen", "the haus"],  # friend deleted: MER 1/5
        "finetune/full/en-ko": ["guten morgen friend", "a haus"],  # the → a: MER 1/5
        "finetune/lora/en-ko": ["guten morgen friend", "the haus"],  # perfect
        "merge/ties/full/en-ja+en-ko": ["gute morgen friend", "the hause"],  # MER 2/5
    },
}
MANIFESTS = {SEEN: EN_KO, UNSEEN: DE_EN}
RTFX = {"base": 10.0, "finetune/full/en-ko": 11.0, "finetune/lora/en-ko": 12.0, "merge/ties/full/en-ja+en-ko": 13.0}


def write_study(root: Path) -> tuple[list[Path], dict[str, Path]]:
    """Predictions JSONs and test manifests laid out as the workflow stores them."""
    manifests = {}
    for pair, rows in MANIFESTS.items():
        path = root / "results/data/pairs" / pair / "test.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps({**row, "audio": f"test_audio/{row['id']}.wav", "duration": 1.0, "pair": pair},
                            ensure_ascii=False) for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        manifests[pair] = path
    predictions = []
    for pair, by_model in HYPOTHESES.items():
        for model, hypotheses in by_model.items():
            utterances = [{"id": row["id"], "reference": row["text"], "hypothesis": hypothesis}
                          for row, hypothesis in zip(MANIFESTS[pair], hypotheses, strict=True)]
            data = {"model": model, "pair": pair, "language_mode": "matrix", "device": "cpu", "dtype": "float32",
                    "timing": {"audio_s": 3.0, "wall_s": 3.0 / RTFX[model], "rtfx": RTFX[model]},
                    "utterances": utterances[::-1]}  # stored order must not matter
            path = root / "results/predictions" / model / f"{pair}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            predictions.append(path)
    return predictions, manifests


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[list[Path], dict[str, Path]]:
    return write_study(tmp_path_factory.mktemp("study"))


@pytest.fixture(scope="module")
def summary(study) -> pd.DataFrame:
    predictions, manifests = study
    return score_predictions(predictions, [SEEN], manifests=list(manifests.values()), seed=0, n_resamples=2000)


def value(summary: pd.DataFrame, model: str, pair: str, metric: str, column: str = "value") -> float:
    row = summary[(summary["model"] == model) & (summary["pair"] == pair) & (summary["metric"] == metric)]
    assert len(row) == 1, (model, pair, metric)
    return row[column].iloc[0]


# ----------------------------------------------------------------------------- scoring


def test_summary_is_tidy_with_the_expected_columns(summary: pd.DataFrame) -> None:
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert not summary.duplicated(["model", "pair", "metric"]).any()
    metrics = set(summary.loc[summary["pair"] == SEEN, "metric"])
    assert metrics == {"mer", "wer", "cer", "pier", "error_rate_en", "error_rate_ko", "script_confusion",
                       "language_swap"}
    assert set(summary.loc[summary["pair"] == UNSEEN, "metric"]) >= {"error_rate_de", "error_rate_en"}
    assert set(summary.loc[summary["pair"] == SEEN, "pair_type"]) == {"seen"}
    assert set(summary.loc[summary["pair"] == UNSEEN, "pair_type"]) == {"unseen"}
    merge = summary[summary["model"] == "merge/ties/full/en-ja+en-ko"].iloc[0]
    assert (merge["kind"], merge["method"], merge["mode"], merge["n_members"]) == ("merge", "ties", "full", 2)
    assert value(summary, "finetune/lora/en-ko", SEEN, "mer", "rtfx") == 12.0
    assert value(summary, "base", SEEN, "mer", "n_utterances") == 3


def test_hand_computed_rates(summary: pd.DataFrame) -> None:
    expected = {
        ("base", "mer"): 2 / 9, ("base", "wer"): 2 / 7, ("base", "cer"): 7 / 27,
        ("base", "pier"): 0.0, ("base", "error_rate_en"): 1 / 4, ("base", "error_rate_ko"): 1 / 5,
        ("base", "script_confusion"): 0.0,
        ("finetune/full/en-ko", "mer"): 0.0, ("finetune/full/en-ko", "pier"): 0.0,
        ("finetune/lora/en-ko", "mer"): 1 / 9, ("finetune/lora/en-ko", "pier"): 1 / 4,
        ("finetune/lora/en-ko", "error_rate_en"): 1 / 4, ("finetune/lora/en-ko", "error_rate_ko"): 0.0,
        ("merge/ties/full/en-ja+en-ko", "mer"): 2 / 9, ("merge/ties/full/en-ja+en-ko", "pier"): 2 / 4,
        ("merge/ties/full/en-ja+en-ko", "error_rate_ko"): 2 / 5,
        ("merge/ties/full/en-ja+en-ko", "script_confusion"): 2 / 9,
        # 아침 heard as あさ is kana, neither language's script: confusion, not a swap.
        ("merge/ties/full/en-ja+en-ko", "language_swap"): 0.0, ("base", "language_swap"): 0.0,
    }
    for (model, metric), rate in expected.items():
        assert value(summary, model, SEEN, metric) == pytest.approx(rate), (model, metric)
    assert value(summary, "base", SEEN, "mer", "n_tokens") == 9
    assert value(summary, "base", SEEN, "pier", "n_tokens") == 4
    assert value(summary, "base", SEEN, "error_rate_ko", "n_tokens") == 5
    assert value(summary, "merge/ties/full/en-ja+en-ko", UNSEEN, "mer") == pytest.approx(2 / 5)


def test_confidence_intervals_contain_the_estimate(summary: pd.DataFrame) -> None:
    fractions = summary["metric"].isin(["script_confusion", "language_swap"])
    counted = summary[~fractions]
    assert counted[["ci_low", "ci_high"]].notna().all().all()
    assert (counted["ci_low"] <= counted["value"] + 1e-12).all()
    assert (counted["value"] <= counted["ci_high"] + 1e-12).all()
    assert summary.loc[fractions, ["ci_low", "ci_high"]].isna().all().all()
    # A perfect model has nothing to resample but zeros.
    assert value(summary, "finetune/full/en-ko", SEEN, "mer", "ci_low") == 0.0
    assert value(summary, "finetune/full/en-ko", SEEN, "mer", "ci_high") == 0.0
    # Base MER over 3 utterances (u1: 0 errors / 3 tokens, u2: 1/4, u3: 1/2): resampled rates
    # range from 0 (u1 drawn three times) to 1/2 (u3 three times), each with probability
    # 1/27 = 3.7% > 2.5%, so the 95% percentile interval is exactly [0, 1/2].
    assert value(summary, "base", SEEN, "mer", "ci_low") == pytest.approx(0.0)
    assert value(summary, "base", SEEN, "mer", "ci_high") == pytest.approx(0.5)


def test_paired_bootstrap_against_base_and_best_finetune(summary: pd.DataFrame) -> None:
    mer = summary[summary["metric"] == "mer"]
    p_values = mer[["p_vs_base", "p_vs_best_finetune"]].stack().dropna()
    assert len(p_values) == 2 * len(mer) - 4  # 2 pairs: base and best fine-tune lack one each
    assert ((p_values >= 0) & (p_values <= 1)).all()
    assert summary.loc[summary["metric"] != "mer", ["p_vs_base", "p_vs_best_finetune"]].isna().all().all()
    # Best fine-tune per pair by MER: full on en-ko (0), lora on de-en (0).
    assert set(mer.loc[mer["pair"] == SEEN, "best_finetune"]) == {"finetune/full/en-ko"}
    assert set(mer.loc[mer["pair"] == UNSEEN, "best_finetune"]) == {"finetune/lora/en-ko"}
    # No model is compared with itself.
    assert math.isnan(value(summary, "base", SEEN, "mer", "p_vs_base"))
    assert math.isnan(value(summary, "finetune/full/en-ko", SEEN, "mer", "p_vs_best_finetune"))
    # Full fine-tune (0 errors) vs base (errors on u2 and u3): it is not better only in
    # resamples that draw u1 three times, probability (1/3)^3 = 1/27.
    assert value(summary, "finetune/full/en-ko", SEEN, "mer", "p_vs_base") == pytest.approx(1 / 27, abs=0.02)
    # Base vs the perfect fine-tune: never better.
    assert value(summary, "base", SEEN, "mer", "p_vs_best_finetune") == 1.0


def test_scoring_is_seeded(study) -> None:
    predictions, manifests = study
    first = score_predictions(predictions, [SEEN], manifests=list(manifests.values()), seed=3, n_resamples=200)
    second = score_predictions(predictions, [SEEN], manifests=list(manifests.values()), seed=3, n_resamples=200)
    pd.testing.assert_frame_equal(first, second)


def test_without_manifests_only_transcript_metrics(study) -> None:
    predictions, _ = study
    summary = score_predictions(predictions, [SEEN], n_resamples=100)
    assert set(summary["metric"]) == {"mer", "wer", "cer", "script_confusion"}
    assert value(summary, "base", SEEN, "mer") == pytest.approx(2 / 9)


def test_predictions_not_covering_the_manifest_fail_clearly(study, tmp_path: Path) -> None:
    predictions, manifests = study
    data = json.loads(predictions[0].read_text(encoding="utf-8"))
    data["utterances"] = data["utterances"][1:]
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="do not cover the test manifest"):
        score_predictions([stale], [SEEN], manifests=list(manifests.values()), n_resamples=10)


def test_describe_model_rejects_unknown_ids() -> None:
    assert describe_model("dg/erm/en-ja+en-ko")["n_members"] == 2
    with pytest.raises(ValueError, match="unknown model id"):
        describe_model("finetune/full")


# ------------------------------------------------------------------------------ tables


def hand_summary() -> pd.DataFrame:
    """A tiny tidy summary with a tie and a missing cell, for table formatting."""
    rows = []
    scores = {
        "base": {"en-ko": 0.5, "en-ja": 0.6, "ja-ko": 0.9},
        "finetune/full/en-ko": {"en-ko": 0.2, "en-ja": 0.7, "ja-ko": 0.8},
        "merge/task_arithmetic/full/en-ja+en-ko": {"en-ko": 0.2, "en-ja": 0.4, "ja-ko": None},
    }
    for model, by_pair in scores.items():
        for pair, rate in by_pair.items():
            if rate is not None:
                rows.append({**describe_model(model), "pair": pair, "pair_type": "unseen" if pair == "ja-ko" else "seen",
                             "metric": "mer", "value": rate, "ci_low": rate - 0.05, "ci_high": rate + 0.05})
    return pd.DataFrame(rows)


def test_paper_table_layout_and_bolding() -> None:
    table = paper_table(hand_summary())
    assert list(table.columns) == ["en-ja", "en-ko", "seen avg", "ja-ko", "unseen avg"]
    assert list(table.index) == ["base", "finetune/full/en-ko", "merge/task_arithmetic/full/en-ja+en-ko"]
    assert table.at["base", "seen avg"] == pytest.approx(0.55)
    markdown = to_markdown(table)
    lines = {line.split("|")[1].strip(): line for line in markdown.splitlines() if line.startswith("| ")}
    # en-ko is tied: both get bold; en-ja best is the merge; ja-ko best is the fine-tune.
    assert "**0.200**" in lines["finetune/full/en-ko"] and "**0.200**" in lines["merge/task_arithmetic/full/en-ja+en-ko"]
    assert "**0.400**" in lines["merge/task_arithmetic/full/en-ja+en-ko"] and "**0.800**" in lines["finetune/full/en-ko"]
    assert "**" not in lines["base"]
    assert "–" in lines["merge/task_arithmetic/full/en-ja+en-ko"]  # missing ja-ko cell, not "nan"
    latex = to_latex(table)
    assert "\\begin{tabular}" in latex and "\\textbf{0.400}" in latex and "merge/task_arithmetic/full/en-ja+en-ko" not in latex
    assert "merge/task_arithmetic/full/en-ja+en-ko".replace("_", "\\_") in latex


def test_paper_table_with_confidence_intervals() -> None:
    summary = hand_summary()
    table = paper_table(summary)
    intervals = confidence_tables(summary, table)
    markdown = to_markdown(table, ci=intervals)
    assert "**0.400** [0.350, 0.450]" in markdown
    assert "0.500 [0.450, 0.550]" in markdown
    assert "0.550 [" not in markdown  # averages carry no interval
    assert "\\textbf{0.400} {\\scriptsize[0.350, 0.450]}" in to_latex(table, ci=intervals)


def test_per_pair_breakdown(summary: pd.DataFrame) -> None:
    text = per_pair_markdown(summary, n_resamples=2000)
    assert text.index(f"## {SEEN} (seen pair") < text.index(f"## {UNSEEN} (unseen pair")
    assert "best single-pair fine-tune: `finetune/full/en-ko`" in text
    for header in ("MER 95% CI", "p vs base", "p vs best FT", "pier", "error_rate_ko", "script_confusion"):
        assert header in text
    assert "**0.000**" in text  # the perfect fine-tune's MER in bold


def test_parquet_is_optional(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tables.importlib.util, "find_spec", lambda name: None)
    assert write_parquet(hand_summary(), tmp_path / "summary.parquet") is False
    assert not (tmp_path / "summary.parquet").exists()


# ------------------------------------------------------------------------------- plots


def assert_png_and_pdf(png: Path, pdf: Path) -> None:
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 2000
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]
    assert not list(png.parent.glob(".*.tmp-*"))  # atomic: no temporary siblings left


def test_every_plot_writes_png_and_pdf(summary: pd.DataFrame, tmp_path: Path) -> None:
    table = paper_table(summary)
    plots = {
        "heatmap": lambda *paths: mer_heatmap(table, *paths),
        "seen_vs_unseen": lambda *paths: seen_vs_unseen(table, *paths),
        "merge_scaling": lambda *paths: merge_scaling(table, *paths),
        "per_language": lambda *paths: per_language_bars(summary, *paths),
    }
    for name, plot in plots.items():
        plot(tmp_path / f"{name}.png", tmp_path / f"{name}.pdf")
        assert_png_and_pdf(tmp_path / f"{name}.png", tmp_path / f"{name}.pdf")


def test_plots_without_unseen_pairs_still_write_a_figure(summary: pd.DataFrame, tmp_path: Path) -> None:
    seen_only = summary[summary["pair_type"] == "seen"]
    table = paper_table(seen_only)
    for name, plot in {"scaling": lambda *p: merge_scaling(table, *p),
                       "languages": lambda *p: per_language_bars(seen_only, *p),
                       "scatter": lambda *p: seen_vs_unseen(table, *p)}.items():
        plot(tmp_path / f"{name}.png", tmp_path / f"{name}.pdf")
        assert_png_and_pdf(tmp_path / f"{name}.png", tmp_path / f"{name}.pdf")


# ------------------------------------------------------------------- the HTML report


@pytest.fixture(scope="module")
def report_html(study, tmp_path_factory) -> Path:
    """The production report rules (rules/report.smk) run on the hand-made study, then --report."""
    from csbench.report.standalone import prepare_report_workdir, run_report_stage

    predictions, manifests = study
    workdir = tmp_path_factory.mktemp("report-stage")
    config = {**yaml.safe_load((REPO / "config.yaml").read_text()), "seen_pairs": ["ko-en"],
              "unseen_pairs": ["de-en"], "merge": {"methods": ["ties"]}, "dg": {"methods": []}}
    prepare_report_workdir(workdir, config, predictions, manifests)
    return run_report_stage(workdir)


PLOTS = ("answer", "mer_heatmap", "seen_vs_unseen", "unseen_vs_merged_pairs", "per_language_unseen")
TABLES = ("summary.csv", "paper_table.md", "paper_table.tex", "paper_table_ci.md", "paper_table_ci.tex",
          "per_pair.md", "answer.md", "answer.csv", "seeds.md", "seeds.csv")


@pytest.mark.workflow
def test_report_embeds_every_table_and_figure(report_html: Path) -> None:
    from csbench.report.browser import report_results

    results = report_results(report_html.read_text(encoding="utf-8"))
    expected = {f"results/plots/{name}.{suffix}" for name in PLOTS for suffix in ("png", "pdf")}
    expected |= {f"results/tables/{name}" for name in TABLES}
    assert expected <= set(results)
    for path in expected:
        assert results[path]["caption"].strip(), f"{path} has no caption"
        assert results[path]["data_uri"].startswith("data:"), f"{path} is not embedded"
    # Captions are rendered with the rule's params and the config (Jinja) before docutils.
    assert "1000 resamples, seed 0" in results["results/tables/summary.csv"]["caption"]
    summary = pd.read_csv(report_html.parent / "results/tables/summary.csv")
    assert {"ci_low", "ci_high", "p_vs_base", "p_vs_best_finetune"} <= set(summary.columns)


@pytest.mark.workflow
def test_report_renders_in_headless_chromium(report_html: Path, tmp_path: Path) -> None:
    from csbench.report.browser import check_report, find_chromium

    chromium = find_chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); the report was not rendered")
    check = check_report(report_html, tmp_path / "screenshots", chromium)
    assert check.ok, "\n".join(check.lines())
    assert check.app_rendered and check.screenshot.stat().st_size > 10_000
    shown = {figure.path for figure in check.figures if figure.ok}
    assert {f"results/plots/{name}.{suffix}" for name in PLOTS for suffix in ("png", "pdf")} <= shown
