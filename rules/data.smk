# Data stage: one manifest per pair and split, synthesized (eSpeak NG) or prepared from a
# real corpus (data.sources: a Hugging Face dataset or a local/hub manifest), and
# monolingual speech per language for pretraining the local base.
import re

from csbench.data.sources import prepared_splits, source_for, source_inputs
from csbench.study import PREPARED_AUDIO, PREPARED_MANIFEST

# "pair/split" of every manifest prepared from a real source; all others are synthesized.
PREPARED_SPLITS = prepared_splits(config, SEEN_PAIRS, UNSEEN_PAIRS)


ruleorder: prepare_pair > synthesize_pair


rule synthesize_pair:
    output:
        manifest=PAIR_MANIFEST,
        audio=directory(PAIR_AUDIO),
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
        held_out=lambda wildcards: wildcards.pair in UNSEEN_PAIRS,
        sizes=pair_sizes,
        levels=config["data"]["cs_levels"],
        max_duration_s=config["data"]["max_duration_s"],
        noise_snr_db=config["data"]["noise_snr_db"],
        lexicon_limits=canonical(config["data"]["lexicon_limits"]),
        seed=config["seed"],
    script:
        "../scripts/synthesize.py"


rule synthesize_monolingual:
    output:
        manifest=MONO_MANIFEST,
        audio=directory(MONO_AUDIO),
    log:
        "results/logs/data/mono/{lang}/{split}.log",
    benchmark:
        "results/benchmarks/data/mono/{lang}/{split}.tsv"
    wildcard_constraints:
        split=r"train|dev",
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        domain=lambda wildcards: f"mono-{wildcards.lang}",
        sizes=canonical(config["data"]["monolingual_sizes"]),
        levels=["mono"],
        max_duration_s=config["data"]["max_duration_s"],
        noise_snr_db=config["data"]["noise_snr_db"],
        lexicon_limits=canonical(config["data"]["lexicon_limits"]),
        monolingual_sentences=config["data"]["monolingual_sentences"],
        seed=config["seed"],
    script:
        "../scripts/synthesize.py"


rule check_leakage:
    input:
        test=pair_manifest("{pair}", "test"),
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


# One job per pair and split with a real source. Its wildcard is "pair/split", constrained
# to exactly those splits, so the rest fall through to synthesize_pair; the source entry
# is looked up by wildcard, so adding a pair or a source reruns only that split.
rule prepare_pair:
    input:
        unpack(
            lambda wildcards: source_inputs(config, *wildcards.pair_split.split("/"))
        ),
    output:
        manifest=PREPARED_MANIFEST,
        audio=directory(PREPARED_AUDIO),
    log:
        "results/logs/data/pairs/{pair_split}.log",
    benchmark:
        "results/benchmarks/data/pairs/{pair_split}.tsv"
    wildcard_constraints:
        pair_split="|".join(re.escape(key) for key in PREPARED_SPLITS) or "(?!)",
    conda:
        "../envs/hub.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        source=lambda wildcards: canonical(
            source_for(config, *wildcards.pair_split.split("/"))
        ),
    script:
        "../scripts/prepare_source.py"
