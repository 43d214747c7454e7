# Evaluate stage: every model on every seen and unseen pair's test set. Raw predictions
# are stored; normalization and scoring happen in the report stage.


rule evaluate:
    input:
        unpack(evaluation_inputs),
    output:
        "results/predictions/{model}/{pair}.json",
    log:
        "results/logs/evaluate/{model}/{pair}.log",
    benchmark:
        "results/benchmarks/evaluate/{model}/{pair}.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=4000,
        runtime=60,
    params:
        base_model=base_model_path,
        kind=lambda wildcards: wildcards.model.split("/")[0],
        model_file=model_file_path,
        batch_size=config["evaluate"]["batch_size"],
        language=config["evaluate"]["language"],
        max_new_tokens=config["evaluate"]["max_new_tokens"],
        device=config["device"],
    script:
        "../scripts/evaluate.py"
