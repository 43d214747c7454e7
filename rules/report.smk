# Report stage: score the raw predictions, write tidy and paper-style tables and plots.


rule summarize:
    input:
        predictions=prediction_files(),
        tests=expand("results/data/pairs/{pair}/test.jsonl", pair=EVAL_PAIRS),
    output:
        summary=report(
            "results/tables/summary.csv",
            caption="../report/summary.rst",
            category="Tables",
        ),
        markdown=report(
            "results/tables/paper_table.md",
            caption="../report/paper_table.rst",
            category="Tables",
        ),
        latex="results/tables/paper_table.tex",
    log:
        "results/logs/report/summarize.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/summarize.py"


rule plot:
    input:
        summary="results/tables/summary.csv",
    output:
        heatmap=report(
            "results/plots/mer_heatmap.png",
            caption="../report/mer_heatmap.rst",
            category="Plots",
        ),
        seen_vs_unseen=report(
            "results/plots/seen_vs_unseen.png",
            caption="../report/seen_vs_unseen.rst",
            category="Plots",
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
