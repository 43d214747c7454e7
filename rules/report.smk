# Report stage: score the raw predictions against the test manifests (rates, bootstrap
# intervals, paired tests), write tidy and paper-style tables, and every figure as PNG
# (report, slides) and PDF (paper). Outputs are written atomically by csbench.io.
import importlib.util

# Parquet needs pyarrow, an optional extra and not a csbench dependency: the output is
# declared (and written) only where pyarrow is installed; summary.csv always is.
SUMMARY_PARQUET = (
    {"parquet": "results/tables/summary.parquet"}
    if importlib.util.find_spec("pyarrow") is not None
    else {}
)
# Resamples of every bootstrap interval and paired test (seeded with config["seed"]).
BOOTSTRAP_RESAMPLES = 1000


rule summarize:
    input:
        predictions=prediction_files(),
        tests=[pair_manifest(pair, "test") for pair in EVAL_PAIRS],
    output:
        **SUMMARY_PARQUET,
        answer=report(
            "results/tables/answer.csv",
            caption="../report/answer.rst",
            category="1. The answer",
            labels={"table": "seen vs unseen gain per family", "format": "CSV"},
        ),
        answer_markdown=report(
            "results/tables/answer.md",
            caption="../report/answer.rst",
            category="1. The answer",
            labels={"table": "seen vs unseen gain per family", "format": "Markdown"},
        ),
        seeds=report(
            "results/tables/seeds.csv",
            caption="../report/seeds.rst",
            category="Tables",
            labels={"table": "spread and tests over training seeds", "format": "CSV"},
        ),
        seeds_markdown=report(
            "results/tables/seeds.md",
            caption="../report/seeds.rst",
            category="Tables",
            labels={
                "table": "spread and tests over training seeds",
                "format": "Markdown",
            },
        ),
        summary=report(
            SUMMARY_CSV,
            caption="../report/summary.rst",
            category="Tables",
            labels={"table": "tidy scores", "format": "CSV"},
        ),
        markdown=report(
            "results/tables/paper_table.md",
            caption="../report/paper_table.rst",
            category="Tables",
            labels={"table": "paper table", "format": "Markdown"},
        ),
        latex=report(
            "results/tables/paper_table.tex",
            caption="../report/paper_table.rst",
            category="Tables",
            labels={"table": "paper table", "format": "LaTeX"},
        ),
        markdown_ci=report(
            "results/tables/paper_table_ci.md",
            caption="../report/paper_table_ci.rst",
            category="Tables",
            labels={"table": "paper table with 95% CIs", "format": "Markdown"},
        ),
        latex_ci=report(
            "results/tables/paper_table_ci.tex",
            caption="../report/paper_table_ci.rst",
            category="Tables",
            labels={"table": "paper table with 95% CIs", "format": "LaTeX"},
        ),
        per_pair=report(
            "results/tables/per_pair.md",
            caption="../report/per_pair.rst",
            category="Tables",
            labels={"table": "per-pair breakdown", "format": "Markdown"},
        ),
    log:
        "results/logs/report/summarize.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        seed=config["seed"],
        bootstrap_resamples=BOOTSTRAP_RESAMPLES,
        confidence=0.95,
        hike=config["evaluate"]["hike_scoring"],
    script:
        "../scripts/summarize.py"


rule plot:
    input:
        summary=SUMMARY_CSV,
        answer="results/tables/answer.csv",
    output:
        answer=report(
            "results/plots/answer.png",
            caption="../report/answer.rst",
            category="1. The answer",
            labels={"figure": "seen vs unseen gain per family", "format": "PNG"},
        ),
        answer_pdf=report(
            "results/plots/answer.pdf",
            caption="../report/answer.rst",
            category="1. The answer",
            labels={"figure": "seen vs unseen gain per family", "format": "PDF"},
        ),
        heatmap=report(
            "results/plots/mer_heatmap.png",
            caption="../report/mer_heatmap.rst",
            category="Plots",
            labels={"figure": "MER heatmap", "format": "PNG"},
        ),
        heatmap_pdf=report(
            "results/plots/mer_heatmap.pdf",
            caption="../report/mer_heatmap.rst",
            category="Plots",
            labels={"figure": "MER heatmap", "format": "PDF"},
        ),
        seen_vs_unseen=report(
            "results/plots/seen_vs_unseen.png",
            caption="../report/seen_vs_unseen.rst",
            category="Plots",
            labels={"figure": "seen vs unseen", "format": "PNG"},
        ),
        seen_vs_unseen_pdf=report(
            "results/plots/seen_vs_unseen.pdf",
            caption="../report/seen_vs_unseen.rst",
            category="Plots",
            labels={"figure": "seen vs unseen", "format": "PDF"},
        ),
        merge_scaling=report(
            "results/plots/unseen_vs_merged_pairs.png",
            caption="../report/unseen_vs_merged_pairs.rst",
            category="Plots",
            labels={"figure": "unseen MER vs merged pairs", "format": "PNG"},
        ),
        merge_scaling_pdf=report(
            "results/plots/unseen_vs_merged_pairs.pdf",
            caption="../report/unseen_vs_merged_pairs.rst",
            category="Plots",
            labels={"figure": "unseen MER vs merged pairs", "format": "PDF"},
        ),
        per_language=report(
            "results/plots/per_language_unseen.png",
            caption="../report/per_language_unseen.rst",
            category="Plots",
            labels={"figure": "per-language error, unseen pairs", "format": "PNG"},
        ),
        per_language_pdf=report(
            "results/plots/per_language_unseen.pdf",
            caption="../report/per_language_unseen.rst",
            category="Plots",
            labels={"figure": "per-language error, unseen pairs", "format": "PDF"},
        ),
    log:
        "results/logs/report/plot.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/plot.py"
