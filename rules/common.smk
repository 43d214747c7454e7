# Input functions, wildcard constraints and the study's model list.
# Everything here derives from the config; rules stay declarative.
import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, workflow.basedir)

from csbench.config import ConfigError, check_config, seen_pairs, unseen_pairs
from csbench.data.hub import hub_model_dir
from csbench.dg import validate_dg_hyperparameters
from csbench.languages import (
    all_combinations,
    canonical_combination,
    combination_members,
)
from csbench.merge.methods import METHOD_HYPERPARAMETERS, validate_hyperparameters

validate(config, schema="../schemas/config.schema.yaml")
try:
    check_config(config, merge_methods=list(METHOD_HYPERPARAMETERS))
    for _method in config["merge"]["methods"]:
        _fixed = config["merge"].get("hyperparameters", {}).get(_method, {})
        validate_hyperparameters(_method, _fixed)
        for _name, _values in config["merge"].get("grid", {}).get(_method, {}).items():
            for _value in _values:
                validate_hyperparameters(_method, {**_fixed, _name: _value})
    for _method in config.get("dg", {}).get("methods", []):
        validate_dg_hyperparameters(
            _method, config["dg"].get("hyperparameters", {}).get(_method, {})
        )
except (ConfigError, ValueError) as error:
    raise WorkflowError(f"csbench config error: {error}") from None

SEEN_PAIRS = seen_pairs(config)
UNSEEN_PAIRS = unseen_pairs(config)
EVAL_PAIRS = SEEN_PAIRS + UNSEEN_PAIRS
COMBINATIONS = all_combinations(SEEN_PAIRS)
MODES = config["finetune"]["modes"]
MERGE_METHODS = config["merge"]["methods"]
DG_CONFIG = config.get("dg", {})
DG_METHOD_NAMES = DG_CONFIG.get("methods", [])
# "all": one DG model on every seen pair; "every": one per subset of >= 2 seen pairs.
DG_COMBINATIONS = (
    COMBINATIONS
    if DG_CONFIG.get("pair_sets", "all") == "every"
    else [canonical_combination(SEEN_PAIRS)]
)
LOCAL_BASE = config["base_model"] == "local-tiny"
# A hub id is fetched once by rule download_model (rules/download.smk); jobs load the copy.
HUB_BASE = hub_model_dir(config)
BASE_MODEL = (
    "results/base/local-tiny" if LOCAL_BASE else HUB_BASE or config["base_model"]
)

PAIR = r"[a-z]{2,3}-[a-z]{2,3}"


wildcard_constraints:
    pair=PAIR,
    lang=r"[a-z]{2,3}",
    split=r"train|dev|test",
    mono_split=r"train|dev",
    mode=r"full|lora",
    method=r"[a-z_]+",
    dg_method=r"[a-z_]+",
    combo=rf"{PAIR}(\+{PAIR})+",
    model=rf"base|finetune/(full|lora)/{PAIR}|merge/[a-z_]+/(full|lora)/{PAIR}(\+{PAIR})+|dg/[a-z_]+/{PAIR}(\+{PAIR})*",


def model_ids():
    """Every model of the study: base, each fine-tune, each merge recipe."""
    finetunes = [f"finetune/{mode}/{pair}" for mode in MODES for pair in SEEN_PAIRS]
    merges = [
        f"merge/{method}/{mode}/{combo}"
        for method in MERGE_METHODS
        for mode in MODES
        for combo in COMBINATIONS
    ]
    dg = [
        f"dg/{method}/{combo}"
        for method in DG_METHOD_NAMES
        for combo in DG_COMBINATIONS
    ]
    return ["base", *finetunes, *merges, *dg]


def base_model_input():
    """The base model folder when it is a file dependency (local tiny or local folder)."""
    return [BASE_MODEL] if LOCAL_BASE or HUB_BASE or Path(BASE_MODEL).exists() else []


def base_model_path(wildcards, input):
    """The base model a job loads: its `base` input if it has one, else the hub id."""
    base = input.get("base")
    if base:
        return base if isinstance(base, str) else base[0]
    return BASE_MODEL


def model_file_path(wildcards, input):
    """The model's own file (fine-tune folder or merge recipe), empty for the base."""
    return input.get("model_file", "") or ""


def canonical(value):
    """A param value with every mapping's keys sorted, recursively.

    Snakemake compares params by their text, so the same settings written in another key
    order (a preset, a hand-edited config, a YAML dump) would otherwise rerun every job.
    """
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


def pair_sizes(wildcards):
    """Split sizes of a pair: unseen pairs have a test split only (nothing to train on)."""
    sizes = config["data"]["sizes"]
    if wildcards.pair in SEEN_PAIRS:
        return canonical(sizes)
    return {"test": sizes["test"]}


def finetune_settings(wildcards):
    """This fine-tune's settings: not the list of modes nor the other mode's learning rate
    (adding a mode reruns nothing), LoRA settings only for LoRA."""
    settings = config["finetune"]
    chosen = {
        key: value
        for key, value in settings.items()
        if key not in ("modes", "learning_rate", "lora")
    }
    if wildcards.mode == "lora":
        chosen["lora"] = settings.get("lora", {})
    return canonical(chosen)


def dg_settings(wildcards):
    """Training settings shared by the DG methods, without the list of methods, the pair
    sets or other methods' hyperparameters (adding a DG method reruns nothing)."""
    return canonical(
        {
            key: value
            for key, value in config.get("dg", {}).items()
            if key not in ("methods", "pair_sets", "hyperparameters")
        }
    )


def dg_hyperparameters(wildcards):
    """This DG method's hyperparameters only."""
    hyperparameters = config.get("dg", {}).get("hyperparameters", {})
    return canonical(hyperparameters.get(wildcards.dg_method, {}))


def merge_hyperparameters(wildcards):
    """This merge method's hyperparameters only."""
    hyperparameters = config["merge"].get("hyperparameters", {})
    return canonical(hyperparameters.get(wildcards.method, {}))


def merge_grid_values(wildcards):
    """This merge method's search grid only (empty: use the configured values)."""
    return canonical(config["merge"].get("grid", {}).get(wildcards.method, {}))


def leakage_training_manifests(wildcards):
    """Every training set an unseen pair's test set must not leak into."""
    manifests = [f"results/data/pairs/{pair}/train.jsonl" for pair in SEEN_PAIRS]
    if any(merge_grid(method) for method in MERGE_METHODS):  # dev sets exist only then
        manifests += [f"results/data/pairs/{pair}/dev.jsonl" for pair in SEEN_PAIRS]
    if LOCAL_BASE:
        manifests += [
            f"results/data/mono/{lang}/{split}.jsonl"
            for lang in config["languages"]
            for split in ("train", "dev")
        ]
    return manifests


def merge_grid(method):
    """The configured hyperparameter grid of a merge method (empty: use the fixed values)."""
    return config["merge"].get("grid", {}).get(method, {})


def merge_inputs(wildcards):
    """Members' fine-tunes; with a grid also the base and the members' dev sets (only theirs)."""
    members = combination_members(wildcards.combo)
    inputs = {
        "members": [finetune_checkpoint(wildcards.mode, pair) for pair in members]
    }
    if merge_grid(wildcards.method):
        inputs["dev"] = [f"results/data/pairs/{pair}/dev.jsonl" for pair in members]
        inputs["base"] = base_model_input()
    return inputs


def finetune_checkpoint(mode, pair):
    return f"results/finetune/{mode}/{pair}"


def model_checkpoint(model):
    """The file a model id is materialized from (none for the base)."""
    kind, *rest = model.split("/")
    if kind == "finetune":
        return finetune_checkpoint(*rest)
    if kind == "merge":
        return f"results/merge/{model.removeprefix('merge/')}.json"
    if kind == "dg":
        return f"results/{model}"
    return None


def evaluation_inputs(wildcards):
    """Base model, the model's own checkpoint(s), and every evaluation pair's test manifest."""
    inputs = {"tests": [f"results/data/pairs/{pair}/test.jsonl" for pair in EVAL_PAIRS]}
    base = base_model_input()
    if base:
        inputs["base"] = base[0]
    model_file = model_checkpoint(wildcards.model)
    if model_file:
        inputs["model_file"] = model_file
    if wildcards.model.startswith("merge/"):
        _, _, mode, combo = wildcards.model.split("/")
        inputs["members"] = [
            finetune_checkpoint(mode, p) for p in combination_members(combo)
        ]
    return inputs


def prediction_files():
    return [
        f"results/predictions/{model}/{pair}.json"
        for model in model_ids()
        for pair in EVAL_PAIRS
    ]


def final_outputs():
    return [
        "results/tables/summary.csv",
        "results/tables/paper_table.md",
        "results/tables/paper_table.tex",
        "results/plots/mer_heatmap.png",
        "results/plots/seen_vs_unseen.png",
        *(
            f"results/plots/task_vectors_{mode}.png"
            for mode in MODES
            if len(SEEN_PAIRS) > 1
        ),
        *(f"results/checks/leakage/{pair}.ok" for pair in UNSEEN_PAIRS),
    ]
