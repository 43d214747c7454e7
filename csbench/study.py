"""The study's model: which models a config asks for, what they are called, where files live.

Why one module: a model id (``finetune/full/en-ko``, ``merge/ties/lora/de-en+en-ko``,
``dg/fish/de-en+en-ja+en-ko``) is spelled by the workflow's rules, parsed by evaluation and
by the report, and names a file that one rule writes and others read. Spelled in one
place, a new model kind or a moved folder is one change here, and the report can never
parse an id differently from the rule that made it.

Pure functions of the config: no torch, no file access, cheap to import from the Snakefile.
"""

from __future__ import annotations

import itertools
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

from csbench.config import seen_pairs, unseen_pairs
from csbench.hub import converted_model_dir, hub_model_dir
from csbench.languages import all_combinations, canonical_combination, combination_members

#: Wildcard patterns of a pair id and of a combination id (two or more pairs, joined by "+").
PAIR_PATTERN = r"[a-z]{2,3}-[a-z]{2,3}"
COMBO_PATTERN = rf"{PAIR_PATTERN}(\+{PAIR_PATTERN})+"
#: A trained model's replicate: empty for the study's own `seed`, ``@N`` for training seed N of
#: `seeds` (a replicate over training runs). Empty for the main seed, so adding seeds to a
#: finished study trains only the new replicates and renames nothing.
REPLICATE_PATTERN = r"(@[0-9]+)?"
FINETUNE_MODES = ("full", "lora")
MODEL_KINDS = ("base", "finetune", "merge", "dg")

# Result paths, as Snakemake patterns (wildcards in braces; `.format(...)` them in code).
PAIR_MANIFEST = "results/data/pairs/{pair}/{split}.jsonl"
PAIR_AUDIO = "results/data/pairs/{pair}/{split}_audio"
#: A split prepared from a real source: its one wildcard is "PAIR/SPLIT" (rules/data.smk).
PREPARED_MANIFEST = PAIR_MANIFEST.replace("{pair}/{split}", "{pair_split}")
PREPARED_AUDIO = PAIR_AUDIO.replace("{pair}/{split}", "{pair_split}")
MONO_MANIFEST = "results/data/mono/{lang}/{split}.jsonl"
MONO_AUDIO = "results/data/mono/{lang}/{split}_audio"
#: The tiny base the workflow pretrains (base_model: local-tiny), once per training seed: it is
#: a trained model too, so each replicate fine-tunes, merges and trains DG from its own base.
LOCAL_BASE_DIR = "results/base/local-tiny{replicate}"
FINETUNE_DIR = "results/finetune/{mode}/{pair}{replicate}"
MERGE_RECIPE = "results/merge/{method}/{mode}/{combo}{replicate}.json"
DG_DIR = "results/dg/{dg_method}/{combo}{replicate}"
#: One trained candidate of a DG model's hyperparameter grid (the chosen one is copied to DG_DIR).
DG_CANDIDATE_DIR = "results/dg-candidates/{dg_method}/{combo}{replicate}/{candidate}"
#: The candidate name of a DG method without a grid: the config's hyperparameters as written.
CONFIG_CANDIDATE = "config"
PREDICTIONS = "results/predictions/{model}/{pair}.json"
SUMMARY_CSV = "results/tables/summary.csv"


def grid_points(fixed: dict[str, Any], grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values on top of the fixed hyperparameters (the grid's
    names in sorted order, values in the order given): merge and DG searches share it."""
    names = sorted(grid)
    return [{**fixed, **dict(zip(names, values, strict=True))}
            for values in itertools.product(*(grid[name] for name in names))]


def grid_candidates(fixed: dict[str, Any], grid: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
    """{candidate name: hyperparameters} of a DG method's grid; one ``config`` entry without one.

    A name spells the searched values (``penalty_weight=100``, ``inner_lr=0.0001,meta_lr=0.5``),
    so adding a value to a grid trains only the new candidate.
    """
    if not grid:
        return {CONFIG_CANDIDATE: dict(fixed)}
    names = sorted(grid)
    return {",".join(f"{name}={point[name]}" for name in names): point for point in grid_points(fixed, grid)}


def base_model_path(config: dict[str, Any]) -> str:
    """What the study seed's jobs load as the base (StudyPlan.base_path: any seed's): the local
    tiny base the workflow pretrains (one per training seed), the transformers copy
    `convert_ctranslate2` makes of a CTranslate2 base (whisper-base from PyPI), the local copy
    `download_model` makes of a hub id, or the local folder the config names (those three are
    not trained here: every seed shares them)."""
    if config["base_model"] == "local-tiny":
        return LOCAL_BASE_DIR.format(replicate="")
    return converted_model_dir(config) or hub_model_dir(config) or config["base_model"]


def training_seeds(config: dict[str, Any]) -> list[int]:
    """The training seeds of every fine-tune, merge and DG model: `seeds`, or just `seed`.

    `seed` alone fixes the data and every bootstrap; the replicates over `seeds` differ only in
    training (the local base's pretraining, batch order, initialization of adapters, DG and
    DARE randomness), so their spread is the variance over training runs.
    """
    return [int(seed) for seed in (config.get("seeds") or [config["seed"]])]


def replicate_of(seed: int, config: dict[str, Any]) -> str:
    """The replicate suffix of training seed `seed`: "" for the study's `seed`, else "@N"."""
    return "" if int(seed) == int(config["seed"]) else f"@{int(seed)}"


def seed_of(replicate: str, config: dict[str, Any]) -> int:
    """The training seed of a replicate suffix ("" is the study's `seed`)."""
    return int(replicate[1:]) if replicate else int(config["seed"])


def pair_manifest(pair: str, split: str) -> str:
    """The manifest of one pair's split."""
    return PAIR_MANIFEST.format(pair=pair, split=split)


def mono_manifest(lang: str, split: str) -> str:
    """The monolingual manifest of one language's split (local base pretraining)."""
    return MONO_MANIFEST.format(lang=lang, split=split)


@dataclass(frozen=True)
class ModelId:
    """One model of the study; ``str()`` gives its id, `parse` reads one back.

    ``method`` is the merge or DG method ("" for the base and fine-tunes), ``mode`` the
    fine-tuning mode of a fine-tune or of a merge's members ("" for the base; DG models are
    full fine-tunes), ``members`` the seen pairs it was trained or merged from.
    """

    kind: str
    method: str = ""
    mode: str = ""
    members: tuple[str, ...] = ()
    #: "" (the study's `seed`) or "@N" (training seed N); a base has one only when the
    #: workflow trains it (local-tiny), a pretrained base is shared by every seed.
    replicate: str = ""

    @classmethod
    def base(cls, replicate: str = "") -> ModelId:
        return cls("base", replicate=replicate)

    @classmethod
    def finetune(cls, mode: str, pair: str, replicate: str = "") -> ModelId:
        return cls("finetune", mode=mode, members=(pair,), replicate=replicate)

    @classmethod
    def merge(cls, method: str, mode: str, combo: str, replicate: str = "") -> ModelId:
        return cls("merge", method=method, mode=mode, members=tuple(combination_members(combo)),
                   replicate=replicate)

    @classmethod
    def dg(cls, method: str, combo: str, replicate: str = "") -> ModelId:
        return cls("dg", method=method, mode="full", members=tuple(combination_members(combo)),
                   replicate=replicate)

    @classmethod
    def parse(cls, text: str) -> ModelId:
        """The id's parts; ValueError naming the id if it has none of the four shapes."""
        body, at, seed = str(text).partition("@")
        replicate = f"@{seed}" if at else ""
        if at and not seed.isdigit():
            raise ValueError(f"unknown model id {text!r}: a replicate is @ followed by the training seed")
        kind, *rest = body.split("/")
        if kind == "base" and not rest:
            return cls.base(replicate)
        if kind == "finetune" and len(rest) == 2 and rest[0] in FINETUNE_MODES:
            return cls.finetune(*rest, replicate=replicate)
        if kind == "merge" and len(rest) == 3 and rest[1] in FINETUNE_MODES and "+" in rest[2]:
            return cls.merge(*rest, replicate=replicate)
        if kind == "dg" and len(rest) == 2:
            return cls.dg(*rest, replicate=replicate)
        raise ValueError(
            f"unknown model id {text!r}; expected base, finetune/MODE/PAIR, "
            "merge/METHOD/MODE/PAIR+PAIR..., or dg/METHOD/PAIR+PAIR..., each with an optional @SEED"
        )

    @property
    def configuration(self) -> str:
        """The id without its replicate: what the replicates over training seeds share."""
        return str(self).removesuffix(self.replicate) if self.replicate else str(self)

    @property
    def combo(self) -> str:
        """The members as one id (``de-en+en-ko``); the pair itself for a fine-tune."""
        return "+".join(self.members)

    def __str__(self) -> str:
        if self.kind == "base":
            return f"base{self.replicate}"
        if self.kind == "finetune":
            return f"finetune/{self.mode}/{self.combo}{self.replicate}"
        if self.kind == "merge":
            return f"merge/{self.method}/{self.mode}/{self.combo}{self.replicate}"
        return f"dg/{self.method}/{self.combo}{self.replicate}"

    def reference_base(self, models: Container[str]) -> str:
        """The base this model is compared with among `models` (ids; a dict keyed by id does):
        its own seed's base where the base is trained per seed (``base@N``), else the one
        shared ``base``."""
        own = str(ModelId.base(self.replicate))
        return own if own in models else str(ModelId.base())

    def checkpoint(self) -> str | None:
        """The file this model is materialized from: a fine-tuned folder, a merge recipe, a
        DG folder; None for the base (it is the base model itself)."""
        if self.kind == "finetune":
            return FINETUNE_DIR.format(mode=self.mode, pair=self.combo, replicate=self.replicate)
        if self.kind == "merge":
            return MERGE_RECIPE.format(method=self.method, mode=self.mode, combo=self.combo,
                                       replicate=self.replicate)
        if self.kind == "dg":
            return DG_DIR.format(dg_method=self.method, combo=self.combo, replicate=self.replicate)
        return None

    def member_checkpoints(self) -> list[str]:
        """A merge's members' fine-tuned folders of the same training seed (what its recipe is
        materialized from)."""
        if self.kind != "merge":
            return []
        return [FINETUNE_DIR.format(mode=self.mode, pair=pair, replicate=self.replicate) for pair in self.members]

    def columns(self) -> dict[str, object]:
        """The model's columns in summary.csv."""
        method = {"base": "zero-shot", "finetune": "finetune"}.get(self.kind, self.method)
        return {
            "model": str(self),
            "kind": self.kind,
            "method": method,
            "mode": self.mode,
            "members": self.combo,
            "n_members": len(self.members),
            "configuration": self.configuration,
        }


def model_wildcard(merge_methods: list[str], dg_methods: list[str]) -> str:
    """The regex of the ``{model}`` wildcard: the four id shapes with the known method names,
    trained models with their optional replicate."""
    merge = "|".join(sorted(merge_methods)) or "(?!)"
    dg = "|".join(sorted(dg_methods)) or "(?!)"
    modes = "|".join(FINETUNE_MODES)
    rep = REPLICATE_PATTERN
    return (
        rf"base{rep}|finetune/({modes})/{PAIR_PATTERN}{rep}|merge/({merge})/({modes})/{COMBO_PATTERN}{rep}"
        rf"|dg/({dg})/{PAIR_PATTERN}(\+{PAIR_PATTERN})*{rep}"
    )


@dataclass(frozen=True)
class StudyPlan:
    """What a config asks for: pairs, merge combinations, DG pair sets, the models to evaluate."""

    seen_pairs: tuple[str, ...]
    unseen_pairs: tuple[str, ...]
    modes: tuple[str, ...]
    merge_methods: tuple[str, ...]
    dg_methods: tuple[str, ...]
    dg_pair_sets: str
    base_model: str
    #: Replicate suffixes, one per training seed ("" for the study's own `seed`).
    replicates: tuple[str, ...] = ("",)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> StudyPlan:
        dg = config.get("dg", {})
        return cls(
            seen_pairs=tuple(seen_pairs(config)),
            unseen_pairs=tuple(unseen_pairs(config)),
            modes=tuple(config["finetune"]["modes"]),
            merge_methods=tuple(config["merge"]["methods"]),
            dg_methods=tuple(dg.get("methods", [])),
            dg_pair_sets=dg.get("pair_sets", "all"),
            base_model=base_model_path(config),
            replicates=tuple(replicate_of(seed, config) for seed in training_seeds(config)),
        )

    @property
    def local_base(self) -> bool:
        """The base is the tiny Whisper the workflow pretrains itself."""
        return self.base_model == LOCAL_BASE_DIR.format(replicate="")

    @property
    def eval_pairs(self) -> list[str]:
        """Every pair a model is evaluated on: seen pairs, then unseen pairs."""
        return [*self.seen_pairs, *self.unseen_pairs]

    @property
    def combinations(self) -> list[str]:
        """Every combination of two or more seen pairs (one merge each)."""
        return all_combinations(list(self.seen_pairs))

    @property
    def dg_combinations(self) -> list[str]:
        """DG pair sets: "all" trains one model on every seen pair, "every" one per combination."""
        if self.dg_pair_sets == "every":
            return self.combinations
        return [canonical_combination(list(self.seen_pairs))]

    def base_path(self, replicate: str = "") -> str:
        """The base model a replicate's jobs load (its own local base, or the shared one)."""
        return LOCAL_BASE_DIR.format(replicate=replicate) if self.local_base else self.base_model

    def models(self) -> list[ModelId]:
        """Every model of the study: per training seed its base (the local base only; a
        pretrained base once), each fine-tune, each merge recipe (of that seed's fine-tunes),
        each DG model."""
        models = [] if self.local_base else [ModelId.base()]
        for rep in self.replicates:
            if self.local_base:
                models.append(ModelId.base(rep))
            models += [ModelId.finetune(mode, pair, rep) for mode in self.modes for pair in self.seen_pairs]
            models += [
                ModelId.merge(method, mode, combo, rep)
                for method in self.merge_methods
                for mode in self.modes
                for combo in self.combinations
            ]
            models += [ModelId.dg(method, combo, rep) for method in self.dg_methods for combo in self.dg_combinations]
        return models
