# Data stage: synthetic code-switched speech per pair and split, and monolingual speech
# per language for pretraining the local base.


rule synthesize_pair:
    output:
        manifest="results/data/pairs/{pair}/{split}.jsonl",
        audio=directory("results/data/pairs/{pair}/{split}_audio"),
    log:
        "results/logs/data/pairs/{pair}/{split}.log",
    benchmark:
        "results/benchmarks/data/pairs/{pair}/{split}.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        domain=lambda wildcards: wildcards.pair,
        sizes=pair_sizes,
        levels=config["data"]["cs_levels"],
        max_duration_s=config["data"]["max_duration_s"],
        noise_snr_db=config["data"].get("noise_snr_db"),
        lexicon_limits=config["data"].get("lexicon_limits", {}),
        seed=config["seed"],
    script:
        "../scripts/synthesize.py"


rule synthesize_monolingual:
    output:
        manifest="results/data/mono/{lang}/{mono_split}.jsonl",
        audio=directory("results/data/mono/{lang}/{mono_split}_audio"),
    log:
        "results/logs/data/mono/{lang}/{mono_split}.log",
    benchmark:
        "results/benchmarks/data/mono/{lang}/{mono_split}.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        domain=lambda wildcards: f"mono-{wildcards.lang}",
        sizes=config["data"]["monolingual_sizes"],
        levels=["mono"],
        max_duration_s=config["data"]["max_duration_s"],
        noise_snr_db=config["data"].get("noise_snr_db"),
        lexicon_limits=config["data"].get("lexicon_limits", {}),
        monolingual_sentences=config["data"].get("monolingual_sentences", 1),
        seed=config["seed"],
    script:
        "../scripts/synthesize.py"


rule check_leakage:
    input:
        test="results/data/pairs/{pair}/test.jsonl",
        training=leakage_training_manifests,
    output:
        "results/checks/leakage/{pair}.ok",
    log:
        "results/logs/checks/leakage/{pair}.log",
    # Runs as soon as the data exists, ahead of training jobs that are ready too.
    priority: 50
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/check_leakage.py"
