# Fine-tune stage: one job per (mode, seen pair), full fine-tuning or LoRA.


rule finetune:
    input:
        base=base_model_input,
        train=pair_manifest("{pair}", "train"),
    output:
        directory(FINETUNE_DIR),
    log:
        "results/logs/finetune/{mode}/{pair}{replicate}.log",
    benchmark:
        "results/benchmarks/finetune/{mode}/{pair}{replicate}.tsv"
    conda:
        "../envs/torch.yaml"
    # One thread, so two such jobs share 2 CPU cores side by side (small matrices scale
    # poorly over threads; not measured against 2 threads one after another). More per
    # job: --set-threads finetune=8 (GPU boxes need few).
    threads: 1
    resources:
        gpu=1,
        mem_mb=mem_mb("finetune"),
        runtime=runtime("finetune"),
        gpu_mem_mb=gpu_mem_mb("finetune"),
    params:
        base_model=base_model_path,
        settings=finetune_settings,
        learning_rate=lambda wildcards: config["finetune"]["learning_rate"][
            wildcards.mode
        ],
        seed=training_seed,
        device=config["device"],
        checkpoint_dir="results/checkpoints/finetune/{mode}/{pair}{replicate}",
    script:
        "../scripts/finetune.py"
