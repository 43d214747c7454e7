"""Checks on a csbench config that a JSON schema cannot express.

The schema (schemas/config.schema.yaml, applied by Snakemake's `validate`) checks keys and
types; this module checks meaning: known language codes, pairs built from the study's
languages, no pair both seen and unseen, enough seen pairs to merge, known merge methods.
Each problem is reported in one line naming the config key.
"""

from __future__ import annotations

from typing import Any

from csbench.errors import ConfigError
from csbench.languages import SUPPORTED_LANGUAGES, canonical_pair, whisper_language_codes


def check_config(config: dict[str, Any], merge_methods: list[str] | None = None) -> None:
    """Raise ConfigError on the first semantic problem in `config`."""
    known = set(whisper_language_codes())
    languages = config["languages"]
    for code in languages:
        if code not in known:
            raise ConfigError(f"languages: {code!r} is not a Whisper language code")
        if config["data"]["source"] == "synthetic" and code not in SUPPORTED_LANGUAGES:
            raise ConfigError(
                f"languages: {code!r} cannot be synthesized offline; synthetic data supports "
                f"{sorted(SUPPORTED_LANGUAGES)}"
            )
    seen = _pairs(config, "seen_pairs")
    unseen = _pairs(config, "unseen_pairs")
    both = sorted(set(seen) & set(unseen))
    if both:
        raise ConfigError(f"seen_pairs and unseen_pairs both list {both[0]!r}; a pair is one or the other")
    methods = config["merge"]["methods"]
    if methods and len(seen) < 2:
        raise ConfigError("merge.methods needs at least two seen_pairs to merge; list more or set methods: []")
    if config.get("dg", {}).get("methods") and len(seen) < 2:
        raise ConfigError("dg.methods needs at least two seen_pairs (domains); list more or set methods: []")
    if merge_methods is not None:
        for method in methods:
            if method not in merge_methods:
                raise ConfigError(
                    f"merge.methods: {method!r} is not a merge method; available: {sorted(merge_methods)}"
                )


def _pairs(config: dict[str, Any], key: str) -> list[str]:
    pairs: list[str] = []
    for pair in config[key]:
        try:
            canonical = canonical_pair(pair)
        except ValueError as error:
            raise ConfigError(f"{key}: {error}") from error
        for code in canonical.split("-"):
            if code not in config["languages"]:
                raise ConfigError(f"{key}: pair {pair!r} uses {code!r}, which is not in languages")
        if canonical in pairs:
            raise ConfigError(f"{key}: {pair!r} repeats pair {canonical!r} (pairs are unordered)")
        pairs.append(canonical)
    return pairs


def seen_pairs(config: dict[str, Any]) -> list[str]:
    """Canonical seen pairs, sorted."""
    return sorted(canonical_pair(p) for p in config["seen_pairs"])


def unseen_pairs(config: dict[str, Any]) -> list[str]:
    """Canonical unseen pairs, sorted."""
    return sorted(canonical_pair(p) for p in config["unseen_pairs"])
