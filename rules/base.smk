# Base stage (base_model: local-tiny only): build a tiny Whisper with a locally trained
# tokenizer and pretrain it on monolingual synthetic speech of the study's languages, once
# per training seed (same data; the study seed's base is unsuffixed, seed N's is @N).


rule pretrain_local_base:
    input:
        train=[mono_manifest(lang, "train") for lang in config["languages"]],
        dev=[mono_manifest(lang, "dev") for lang in config["languages"]],
    output:
        directory(LOCAL_BASE_DIR),
    log:
        "results/logs/base/local-tiny{replicate}.log",
    benchmark:
        "results/benchmarks/base/local-tiny{replicate}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=mem_mb("pretrain_local_base"),
        runtime=runtime("pretrain_local_base"),
        gpu_mem_mb=gpu_mem_mb("pretrain_local_base"),
    params:
        spec=local_base_settings(),
        seed=training_seed,
        device=config["device"],
        checkpoint_dir="results/checkpoints/base/local-tiny{replicate}",
    script:
        "../scripts/pretrain_base.py"
