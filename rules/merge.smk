# Merge stage: a recipe per (method, mode, combination of >= 2 seen pairs). Recipes are
# materialized in memory at evaluation, so no merged checkpoint is written to disk.


rule merge_recipe:
    input:
        unpack(merge_inputs),
    output:
        MERGE_RECIPE,
    log:
        "results/logs/merge/{method}/{mode}/{combo}{replicate}.log",
    benchmark:
        "results/benchmarks/merge/{method}/{mode}/{combo}{replicate}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        gpu=lambda wildcards: 1 if merge_grid(wildcards.method) else 0,
        mem_mb=mem_mb("merge_recipe"),
        runtime=runtime("merge_recipe"),
        gpu_mem_mb=gpu_mem_mb("merge_recipe"),
    params:
        base_model=base_model_path,
        hyperparameters=merge_hyperparameters,
        grid=merge_grid_values,
        seed=training_seed,
        device=config["device"],
        language=config["evaluate"]["language"],
        max_new_tokens=config["evaluate"]["max_new_tokens"],
    script:
        "../scripts/merge_recipe.py"


rule analyze_task_vectors:
    input:
        base=base_model_input,
        members=lambda wildcards: [
            ModelId.finetune(wildcards.mode, pair).checkpoint() for pair in SEEN_PAIRS
        ],
    output:
        table="results/merge/analysis/{mode}/layer_statistics.csv",
        plot=report(
            "results/plots/task_vectors_{mode}.png",
            caption="../report/task_vectors.rst",
            category="Task vectors",
            labels={"mode": "{mode}"},
        ),
    log:
        "results/logs/merge/analysis/{mode}.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb("analyze_task_vectors"),
        runtime=runtime("analyze_task_vectors"),
    params:
        base_model=base_model_path,
    script:
        "../scripts/analyze_task_vectors.py"
