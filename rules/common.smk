# Input functions, wildcard constraints and the study's model list.
# Everything here derives from the config; rules stay declarative.
import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, workflow.basedir)

from csbench.checks import check_study_config, method_names
from csbench.errors import CsbenchError
from csbench.hub import converted_model_dir, hub_model_dir
from csbench.study import (
    COMBO_PATTERN,
    DG_DIR,
    FINETUNE_DIR,
    FINETUNE_MODES,
    LOCAL_BASE_DIR,
    MERGE_RECIPE,
    MONO_AUDIO,
    MONO_MANIFEST,
    PAIR_AUDIO,
    PAIR_MANIFEST,
    PAIR_PATTERN,
    PREDICTIONS,
    SUMMARY_CSV,
    ModelId,
    StudyPlan,
    model_wildcard,
    mono_manifest,
    pair_manifest,
)

validate(config, schema="../schemas/config.schema.yaml")
try:
    check_study_config(config)
except CsbenchError as error:
    raise WorkflowError(f"csbench config error: {error}") from None

PLAN = StudyPlan.from_config(config)
SEEN_PAIRS = list(PLAN.seen_pairs)
UNSEEN_PAIRS = list(PLAN.unseen_pairs)
EVAL_PAIRS = PLAN.eval_pairs
MODES = list(PLAN.modes)
MERGE_METHODS = list(PLAN.merge_methods)
LOCAL_BASE = PLAN.local_base
# A hub id is fetched once by rule download_model (rules/download.smk); jobs load the copy.
HUB_BASE = hub_model_dir(config)
# A CTranslate2 base is converted once by rule convert_ctranslate2 (rules/download.smk).
CONVERTED_BASE = converted_model_dir(config)
BASE_MODEL = PLAN.base_model
KNOWN_MERGE_METHODS, KNOWN_DG_METHODS = method_names()


wildcard_constraints:
    pair=PAIR_PATTERN,
    lang=r"[a-z]{2,3}",
    split=r"train|dev|test",
    mode="|".join(FINETUNE_MODES),
    method="|".join(KNOWN_MERGE_METHODS),
    dg_method="|".join(KNOWN_DG_METHODS),
    combo=COMBO_PATTERN,
    model=model_wildcard(KNOWN_MERGE_METHODS, KNOWN_DG_METHODS),


def model_ids():
    """Every model of the study (ids): base, each fine-tune, each merge recipe, each DG model."""
    return [str(model) for model in PLAN.models()]


def base_model_input():
    """The base model folder when it is a file dependency (local tiny, a hub or CTranslate2
    copy, or a local folder)."""
    if LOCAL_BASE or HUB_BASE or CONVERTED_BASE or Path(BASE_MODEL).exists():
        return [BASE_MODEL]
    return []


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
        chosen["lora"] = settings["lora"]
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
    return canonical(config["dg"]["hyperparameters"].get(wildcards.dg_method, {}))


def merge_hyperparameters(wildcards):
    """This merge method's hyperparameters only."""
    return canonical(config["merge"]["hyperparameters"].get(wildcards.method, {}))


def merge_grid_values(wildcards):
    """This merge method's search grid only (empty: use the configured values)."""
    return canonical(merge_grid(wildcards.method))


def leakage_training_manifests(wildcards):
    """Every training set an unseen pair's test set must not leak into."""
    manifests = [pair_manifest(pair, "train") for pair in SEEN_PAIRS]
    if any(merge_grid(method) for method in MERGE_METHODS):  # dev sets exist only then
        manifests += [pair_manifest(pair, "dev") for pair in SEEN_PAIRS]
    if LOCAL_BASE:
        manifests += [
            mono_manifest(lang, split)
            for lang in config["languages"]
            for split in ("train", "dev")
        ]
    return manifests


def merge_grid(method):
    """The configured hyperparameter grid of a merge method (empty: use the fixed values)."""
    return config["merge"]["grid"].get(method, {})


def merge_inputs(wildcards):
    """Members' fine-tunes; with a grid also the base and the members' dev sets (only theirs)."""
    model = ModelId.merge(wildcards.method, wildcards.mode, wildcards.combo)
    inputs = {"members": model.member_checkpoints()}
    if merge_grid(wildcards.method):
        inputs["dev"] = [pair_manifest(pair, "dev") for pair in model.members]
        inputs["base"] = base_model_input()
    return inputs


def evaluation_inputs(wildcards):
    """Base model, the model's own checkpoint(s), and every evaluation pair's test manifest."""
    model = ModelId.parse(wildcards.model)
    inputs = {"tests": [pair_manifest(pair, "test") for pair in EVAL_PAIRS]}
    base = base_model_input()
    if base:
        inputs["base"] = base[0]
    if model.checkpoint():
        inputs["model_file"] = model.checkpoint()
    if model.member_checkpoints():
        inputs["members"] = model.member_checkpoints()
    return inputs


def prediction_files():
    return [
        PREDICTIONS.format(model=model, pair=pair)
        for model in model_ids()
        for pair in EVAL_PAIRS
    ]


def final_outputs():
    return [
        SUMMARY_CSV,
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
