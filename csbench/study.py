"""The study's model: which models a config asks for, what they are called, where files live.

Why one module: a model id (``finetune/full/en-ko``, ``merge/ties/lora/de-en+en-ko``,
``dg/fish/de-en+en-ja+en-ko``) is spelled by the workflow's rules, parsed by evaluation and
by the report, and names a file that one rule writes and others read. Spelled in one
place, a new model kind or a moved folder is one change here, and the report can never
parse an id differently from the rule that made it.

Pure functions of the config: no torch, no file access, cheap to import from the Snakefile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from csbench.config import seen_pairs, unseen_pairs
from csbench.hub import converted_model_dir, hub_model_dir
from csbench.languages import all_combinations, canonical_combination, combination_members

#: Wildcard patterns of a pair id and of a combination id (two or more pairs, joined by "+").
PAIR_PATTERN = r"[a-z]{2,3}-[a-z]{2,3}"
COMBO_PATTERN = rf"{PAIR_PATTERN}(\+{PAIR_PATTERN})+"
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
LOCAL_BASE_DIR = "results/base/local-tiny"
FINETUNE_DIR = "results/finetune/{mode}/{pair}"
MERGE_RECIPE = "results/merge/{method}/{mode}/{combo}.json"
DG_DIR = "results/dg/{dg_method}/{combo}"
PREDICTIONS = "results/predictions/{model}/{pair}.json"
SUMMARY_CSV = "results/tables/summary.csv"


def base_model_path(config: dict[str, Any]) -> str:
    """What every job loads as the base: the local tiny base the workflow pretrains, the
    transformers copy `convert_ctranslate2` makes of a CTranslate2 base (whisper-base from PyPI),
    the local copy `download_model` makes of a hub id, or the local folder the config names."""
    if config["base_model"] == "local-tiny":
        return LOCAL_BASE_DIR
    return converted_model_dir(config) or hub_model_dir(config) or config["base_model"]


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

    @classmethod
    def base(cls) -> ModelId:
        return cls("base")

    @classmethod
    def finetune(cls, mode: str, pair: str) -> ModelId:
        return cls("finetune", mode=mode, members=(pair,))

    @classmethod
    def merge(cls, method: str, mode: str, combo: str) -> ModelId:
        return cls("merge", method=method, mode=mode, members=tuple(combination_members(combo)))

    @classmethod
    def dg(cls, method: str, combo: str) -> ModelId:
        return cls("dg", method=method, mode="full", members=tuple(combination_members(combo)))

    @classmethod
    def parse(cls, text: str) -> ModelId:
        """The id's parts; ValueError naming the id if it has none of the four shapes."""
        kind, *rest = str(text).split("/")
        if kind == "base" and not rest:
            return cls.base()
        if kind == "finetune" and len(rest) == 2 and rest[0] in FINETUNE_MODES:
            return cls.finetune(*rest)
        if kind == "merge" and len(rest) == 3 and rest[1] in FINETUNE_MODES and "+" in rest[2]:
            return cls.merge(*rest)
        if kind == "dg" and len(rest) == 2:
            return cls.dg(*rest)
        raise ValueError(
            f"unknown model id {text!r}; expected base, finetune/MODE/PAIR, "
            "merge/METHOD/MODE/PAIR+PAIR..., or dg/METHOD/PAIR+PAIR..."
        )

    @property
    def combo(self) -> str:
        """The members as one id (``de-en+en-ko``); the pair itself for a fine-tune."""
        return "+".join(self.members)

    def __str__(self) -> str:
        if self.kind == "base":
            return "base"
        if self.kind == "finetune":
            return f"finetune/{self.mode}/{self.combo}"
        if self.kind == "merge":
            return f"merge/{self.method}/{self.mode}/{self.combo}"
        return f"dg/{self.method}/{self.combo}"

    def checkpoint(self) -> str | None:
        """The file this model is materialized from: a fine-tuned folder, a merge recipe, a
        DG folder; None for the base (it is the base model itself)."""
        if self.kind == "finetune":
            return FINETUNE_DIR.format(mode=self.mode, pair=self.combo)
        if self.kind == "merge":
            return MERGE_RECIPE.format(method=self.method, mode=self.mode, combo=self.combo)
        if self.kind == "dg":
            return DG_DIR.format(dg_method=self.method, combo=self.combo)
        return None

    def member_checkpoints(self) -> list[str]:
        """A merge's members' fine-tuned folders (what its recipe is materialized from)."""
        if self.kind != "merge":
            return []
        return [FINETUNE_DIR.format(mode=self.mode, pair=pair) for pair in self.members]

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
        }


def model_wildcard(merge_methods: list[str], dg_methods: list[str]) -> str:
    """The regex of the ``{model}`` wildcard: the four id shapes with the known method names."""
    merge = "|".join(sorted(merge_methods)) or "(?!)"
    dg = "|".join(sorted(dg_methods)) or "(?!)"
    modes = "|".join(FINETUNE_MODES)
    return (
        rf"base|finetune/({modes})/{PAIR_PATTERN}|merge/({merge})/({modes})/{COMBO_PATTERN}"
        rf"|dg/({dg})/{PAIR_PATTERN}(\+{PAIR_PATTERN})*"
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
        )

    @property
    def local_base(self) -> bool:
        """The base is the tiny Whisper the workflow pretrains itself."""
        return self.base_model == LOCAL_BASE_DIR

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

    def models(self) -> list[ModelId]:
        """Every model of the study: base, each fine-tune, each merge recipe, each DG model."""
        finetunes = [ModelId.finetune(mode, pair) for mode in self.modes for pair in self.seen_pairs]
        merges = [
            ModelId.merge(method, mode, combo)
            for method in self.merge_methods
            for mode in self.modes
            for combo in self.combinations
        ]
        dg = [ModelId.dg(method, combo) for method in self.dg_methods for combo in self.dg_combinations]
        return [ModelId.base(), *finetunes, *merges, *dg]
