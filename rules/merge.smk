# Merge stage: a recipe per (method, mode, combination of >= 2 seen pairs). Recipes are
# materialized in memory at evaluation, so no merged checkpoint is written to disk.


rule merge_recipe:
    input:
        members=lambda wildcards: [
            finetune_checkpoint(wildcards.mode, pair)
            for pair in combination_members(wildcards.combo)
        ],
    output:
        "results/merge/{method}/{mode}/{combo}.json",
    log:
        "results/logs/merge/{method}/{mode}/{combo}.log",
    conda:
        "../envs/merge.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        hyperparameters=lambda wildcards: config["merge"]
        .get("hyperparameters", {})
        .get(wildcards.method, {}),
        seed=config["seed"],
    script:
        "../scripts/merge_recipe.py"
