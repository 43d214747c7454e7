# Domain-generalization stage: one model trained on the union of seen pairs, each pair a
# domain (ERM-joint, Fish, Fishr, GGA); one training job per (method, set of seen pairs,
# candidate of the method's dg.grid), then one selection job per (method, set of pairs) that
# keeps the candidate with the lowest MER on those pairs' dev sets (merges' procedure).


rule train_dg:
    input:
        base=base_model_input,
        train=lambda wildcards: [
            pair_manifest(pair, "train")
            for pair in ModelId.dg(wildcards.dg_method, wildcards.combo).members
        ],
    output:
        directory(DG_CANDIDATE_DIR),
    log:
        "results/logs/dg/{dg_method}/{combo}{replicate}/{candidate}.log",
    benchmark:
        "results/benchmarks/dg/{dg_method}/{combo}{replicate}/{candidate}.tsv"
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
        seed=training_seed,
        device=config["device"],
        checkpoint_dir="results/checkpoints/dg/{dg_method}/{combo}{replicate}/{candidate}",
    script:
        "../scripts/train_dg.py"


rule select_dg:
    input:
        unpack(dg_selection_inputs),
    output:
        directory(DG_DIR),
    log:
        "results/logs/dg/{dg_method}/{combo}{replicate}/select.log",
    benchmark:
        "results/benchmarks/dg/{dg_method}/{combo}{replicate}/select.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        gpu=lambda wildcards: 1 if dg_grid(wildcards.dg_method) else 0,
        mem_mb=mem_mb("select_dg"),
        runtime=runtime("select_dg"),
        gpu_mem_mb=gpu_mem_mb("select_dg"),
    params:
        names=lambda wildcards: list(dg_candidates(wildcards.dg_method)),
        hyperparameters=lambda wildcards: canonical(dg_candidates(wildcards.dg_method)),
        device=config["device"],
        language=config["evaluate"]["language"],
        max_new_tokens=config["evaluate"]["max_new_tokens"],
    script:
        "../scripts/select_dg.py"
