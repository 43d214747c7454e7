# Domain-generalization stage: one model trained on the union of seen pairs, each pair a
# domain (ERM-joint, Fish, Fishr, GGA); one job per (method, set of seen pairs).


rule train_dg:
    input:
        base=base_model_input(),
        train=lambda wildcards: [
            pair_manifest(pair, "train")
            for pair in ModelId.dg(wildcards.dg_method, wildcards.combo).members
        ],
    output:
        directory(DG_DIR),
    log:
        "results/logs/dg/{dg_method}/{combo}.log",
    benchmark:
        "results/benchmarks/dg/{dg_method}/{combo}.tsv"
    conda:
        "../envs/torch.yaml"
    # One thread, so two such jobs share 2 CPU cores side by side (small matrices scale
    # poorly over threads; not measured against 2 threads one after another). More per
    # job: --set-threads train_dg=8 (GPU boxes need few).
    threads: 1
    resources:
        gpu=1,
        mem_mb=mem_mb("train_dg"),
        runtime=runtime("train_dg"),
        gpu_mem_mb=gpu_mem_mb("train_dg"),
    params:
        base_model=base_model_path,
        settings=dg_settings,
        hyperparameters=dg_hyperparameters,
        seed=config["seed"],
        device=config["device"],
        checkpoint_dir="results/checkpoints/dg/{dg_method}/{combo}",
    script:
        "../scripts/train_dg.py"
