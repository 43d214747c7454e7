# Input functions, wildcard constraints and the study's model list.
# Everything here derives from the config; rules stay declarative.
import math
import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, workflow.basedir)

from csbench.budget import dg_training
from csbench.checks import check_study_config, dg_cost, method_names
from csbench.data.sources import source_for
from csbench.errors import CsbenchError
from csbench.hub import converted_model_dir, hub_model_dir
from csbench.resources import PRETRAIN_MB_PER_FRAME, Workload
from csbench.study import (
    COMBO_PATTERN,
    DG_CANDIDATE_DIR,
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
    REPLICATE_PATTERN,
    SUMMARY_CSV,
    ModelId,
    StudyPlan,
    grid_candidates,
    model_wildcard,
    mono_manifest,
    pair_manifest,
    seed_of,
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
    replicate=REPLICATE_PATTERN,
    candidate=r"[A-Za-z0-9_.=,+-]+",
    model=model_wildcard(KNOWN_MERGE_METHODS, KNOWN_DG_METHODS),


def model_ids():
    """Every model of the study (ids): base, each fine-tune, each merge recipe, each DG model."""
    return [str(model) for model in PLAN.models()]


def job_replicate(wildcards):
    """A job's replicate: its {replicate} wildcard, its {model}'s, or "" (the study seed's)."""
    model = wildcards.get("model")
    if model:
        return ModelId.parse(model).replicate
    return wildcards.get("replicate") or ""


def base_model_input(wildcards):
    """The base model folder of the job's replicate when it is a file dependency (that seed's
    local tiny base, a hub or CTranslate2 copy, or a local folder)."""
    base = PLAN.base_path(job_replicate(wildcards))
    if LOCAL_BASE or HUB_BASE or CONVERTED_BASE or Path(base).exists():
        return [base]
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


def training_seed(wildcards):
    """The training seed of a job's replicate ("" is the study's seed, "@N" seed N)."""
    return seed_of(wildcards.replicate, config)


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


def local_base_settings():
    """The local base's settings, token_corruption and the CTC keys only when on: they are
    off by default, so a base trained before the keys existed keeps its results (no params
    rerun)."""
    settings = config["local_base"]
    return canonical(
        {
            key: value
            for key, value in settings.items()
            if key not in ("token_corruption", "ctc_weight", "ctc_anneal_steps")
            or value
        }
    )


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
    """The DG trainers' effective settings (csbench.budget: the fine-tune's under
    dg.budget: matched), without the list of methods, the pair sets or other methods'
    hyperparameters (adding a DG method reruns nothing)."""
    members = ModelId.dg(wildcards.dg_method, wildcards.combo).members
    return canonical(dg_training(config, len(members)))


def dg_grid(method):
    """The configured hyperparameter grid of a DG method (empty: train the fixed values)."""
    return config["dg"]["grid"].get(method, {})


def dg_candidates(method):
    """{candidate name: hyperparameters} of a DG method: its grid's points, or one "config"."""
    return grid_candidates(
        config["dg"]["hyperparameters"].get(method, {}), dg_grid(method)
    )


def dg_hyperparameters(wildcards):
    """This candidate's hyperparameters only (adding a grid value trains only the new one)."""
    candidates = dg_candidates(wildcards.dg_method)
    if wildcards.candidate not in candidates:
        raise WorkflowError(
            f"DG method {wildcards.dg_method}: no candidate {wildcards.candidate!r} in dg.grid"
        )
    return canonical(candidates[wildcards.candidate])


def dg_selection_inputs(wildcards):
    """Every trained candidate; with a grid also the model's own seen pairs' dev sets (only)."""
    members = ModelId.dg(wildcards.dg_method, wildcards.combo).members
    inputs = {
        "candidates": [
            DG_CANDIDATE_DIR.format(
                dg_method=wildcards.dg_method,
                combo=wildcards.combo,
                replicate=wildcards.replicate,
                candidate=name,
            )
            for name in dg_candidates(wildcards.dg_method)
        ]
    }
    if dg_grid(wildcards.dg_method):
        inputs["dev"] = [pair_manifest(pair, "dev") for pair in members]
    return inputs


def merge_hyperparameters(wildcards):
    """This merge method's hyperparameters only."""
    return canonical(config["merge"]["hyperparameters"].get(wildcards.method, {}))


def merge_grid_values(wildcards):
    """This merge method's search grid only (empty: use the configured values)."""
    return canonical(merge_grid(wildcards.method))


def leakage_training_manifests(wildcards):
    """Every training set an unseen pair's test set must not leak into."""
    manifests = [pair_manifest(pair, "train") for pair in SEEN_PAIRS]
    searched = any(merge_grid(method) for method in MERGE_METHODS) or any(
        dg_grid(method) for method in PLAN.dg_methods
    )
    if searched:  # dev sets exist only then
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
    model = ModelId.merge(
        wildcards.method, wildcards.mode, wildcards.combo, wildcards.replicate
    )
    inputs = {"members": model.member_checkpoints()}
    if merge_grid(wildcards.method):
        inputs["dev"] = [pair_manifest(pair, "dev") for pair in model.members]
        inputs["base"] = base_model_input(wildcards)
    return inputs


def evaluation_inputs(wildcards):
    """Base model, the model's own checkpoint(s), and every evaluation pair's test manifest."""
    model = ModelId.parse(wildcards.model)
    inputs = {"tests": [pair_manifest(pair, "test") for pair in EVAL_PAIRS]}
    base = base_model_input(wildcards)
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
        "results/tables/answer.md",
        "results/plots/answer.png",
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


# Resources from the work each job does (csbench/resources.py: coefficients and their sources).
# Memory grows with the attempt, so a retry after running out of memory asks for more.
WORK = Workload.from_config(config)
ON_CPU = Workload(WORK.parameters, WORK.window_s, gpu=False)


def split_size(pair, split):
    """Utterances in one pair's split: a real source's `limit`, else data.sizes."""
    source = source_for(config, pair, split)
    return int(source.get("limit") or config["data"]["sizes"][split])


def job_cost(rule_name, wildcards):
    """The resources.Cost of one job of rule `rule_name`."""
    if rule_name == "pretrain_local_base":
        spec = config["local_base"]
        n_train = config["data"]["monolingual_sizes"]["train"] * len(
            config["languages"]
        )
        frames = spec["window_s"] * spec["frames_per_second"]
        return WORK.training(
            spec["steps"] * spec["batch_size"],
            spec["batch_size"],
            cached_mb=n_train * frames * PRETRAIN_MB_PER_FRAME,
        )
    if rule_name == "finetune":
        settings = config["finetune"]
        return WORK.training(
            settings["steps"] * settings["batch_size"],
            settings["batch_size"],
            wildcards.mode,
            gradient_checkpointing=settings["gradient_checkpointing"],
        )
    if rule_name == "train_dg":
        members = ModelId.dg(wildcards.dg_method, wildcards.combo).members
        settings = dg_training(config, len(members))
        per_step = settings["batch_size_per_domain"] * len(members)
        extra, copies = dg_cost(
            wildcards.dg_method,
            config["dg"]["hyperparameters"].get(wildcards.dg_method, {}),
            per_step,
        )
        work = settings["steps"] * per_step + extra
        return WORK.training(
            work,
            per_step,
            "full",
            copies,
            gradient_checkpointing=settings["gradient_checkpointing"],
        )
    if rule_name == "evaluate":
        model = ModelId.parse(wildcards.model)
        tests = sum(split_size(pair, "test") for pair in EVAL_PAIRS)
        batch = config["evaluate"]["batch_size"]
        return WORK.decoding(tests, batch, 1 + len(model.member_checkpoints()))
    if rule_name == "select_dg":
        members = ModelId.dg(wildcards.dg_method, wildcards.combo).members
        points = len(dg_candidates(wildcards.dg_method))
        if points == 1:  # links the only candidate's files: no model is loaded
            return ON_CPU.decoding(0, 1, 0)
        dev = sum(split_size(pair, "dev") for pair in members)
        return WORK.decoding(points * dev, config["evaluate"]["batch_size"], 1)
    if rule_name == "merge_recipe":
        members = ModelId.merge(
            wildcards.method, wildcards.mode, wildcards.combo
        ).members
        grid = merge_grid(wildcards.method)
        points = math.prod(len(values) for values in grid.values()) if grid else 0
        dev = sum(split_size(pair, "dev") for pair in members)
        if not points:  # writes the recipe only: no model is loaded
            return ON_CPU.decoding(0, 1, 0)
        return WORK.decoding(
            points * dev, config["evaluate"]["batch_size"], 1 + len(members)
        )
    if rule_name == "analyze_task_vectors":
        # CPU-only: the base and every seen-pair task vector in host memory
        return ON_CPU.decoding(0, 1, 1 + len(SEEN_PAIRS))
    raise ValueError(f"no cost model for rule {rule_name!r}")


def mem_mb(rule_name):
    return lambda wildcards, attempt: job_cost(rule_name, wildcards).mem_mb * attempt


# Jobs that continue where a stopped submission left off (training checkpoints and stops
# itself before its --time; evaluation keeps its journal and cache when killed) ask at most
# one partition's limit: a longer one runs over resubmissions (profiles/slurm: retries).
# Others must fit in one.
RESUMABLE_RULES = ("pretrain_local_base", "finetune", "train_dg", "evaluate")


def runtime(rule_name):
    limit = config["cluster"]["partition_limit_min"]
    if rule_name in RESUMABLE_RULES:
        return lambda wildcards: min(job_cost(rule_name, wildcards).runtime, limit)
    return lambda wildcards: job_cost(rule_name, wildcards).runtime


def gpu_mem_mb(rule_name):
    return (
        lambda wildcards, attempt: job_cost(rule_name, wildcards).gpu_mem_mb * attempt
    )
