# Evaluate stage: one job per model decodes every seen and unseen pair's test set (the model is
# materialized once). Raw predictions are stored; normalization and scoring happen in the
# report stage. A per-(model, pair) cache (results/cache/predictions/) keyed by a fingerprint
# of the model files, the test set and the decoding settings means adding a pair, or rerunning
# a killed job, decodes only the (model, pair) cells that are new or stale.


rule evaluate:
    input:
        unpack(evaluation_inputs),
    output:
        predictions=[
            PREDICTIONS.format(model="{model}", pair=pair) for pair in EVAL_PAIRS
        ],
    log:
        "results/logs/evaluate/{model}.log",
    benchmark:
        "results/benchmarks/evaluate/{model}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=mem_mb("evaluate"),
        runtime=runtime("evaluate"),
        gpu_mem_mb=gpu_mem_mb("evaluate"),
    params:
        base_model=base_model_path,
        kind=lambda wildcards: ModelId.parse(wildcards.model).kind,
        model_file=model_file_path,
        pairs=EVAL_PAIRS,
        cache_dir="results/cache/predictions/{model}",
        batch_size=config["evaluate"]["batch_size"],
        language=config["evaluate"]["language"],
        max_new_tokens=config["evaluate"]["max_new_tokens"],
        precision=config["evaluate"]["precision"],
        device=config["device"],
    script:
        "../scripts/evaluate.py"
