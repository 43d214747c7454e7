"""Where each pair's speech comes from, and turning any source into a csbench manifest.

A pair's split is read from one of three sources. `data.source` is the default for every
pair and split; `data.sources.<pair>.<split>` overrides it for one of them:

- `synthetic`: eSpeak NG speech made by `csbench.data.synthesize` (the offline default);
- `hf`: a Hugging Face dataset, by hub id (fetched once by the `download_dataset` rule) or
  as a local folder (`save_to_disk` output, or data files `load_dataset` can read);
- `manifest`: a JSONL or CSV listing audio paths and transcripts, local or inside a
  Hugging Face dataset repository (`repo`; only the file and its `include` patterns are
  fetched, e.g. one language pair of CS-FLEURS rather than all 300 hours).

Whatever the source, the result is the same thing: a JSONL manifest and 16 kHz mono WAVs
beside it (`csbench.data.manifest`), both written atomically. Training and evaluation
never learn where speech came from, which is what makes a synthetic run a faithful
stand-in for a real one.

Audio is decoded here with soundfile and resampled with soxr rather than by `datasets`:
`datasets` 4+ decodes (and encodes) audio through torchcodec and FFmpeg, which a CPU box
or a conda env may lack; reading the stored bytes ourselves works everywhere.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import logging
import posixpath
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from csbench.config import ConfigError
from csbench.data.manifest import SAMPLE_RATE
from csbench.errors import SourceError
from csbench.hike import parse_loanwords
from csbench.hub import dataset_download, download_key, fetch_repo_files, hub_dir, is_hub_id
from csbench.io import atomic_path, write_jsonl
from csbench.languages import SUPPORTED_LANGUAGES, canonical_pair, char_script, pair_languages

logger = logging.getLogger(__name__)

SOURCE_TYPES = ("synthetic", "hf", "manifest")
SPLITS = ("train", "dev", "test")
#: Manifest fields a source can fill from one of its columns.
COLUMN_FIELDS = ("audio", "text", "id", "tokens", "matrix_lang", "cs_level", "speaker", "loanwords")
DEFAULT_COLUMNS = {"audio": "audio", "text": "text"}
#: ISO 639-3 codes some corpora use (CS-FLEURS: 'kor-eng') → Whisper's codes.
ISO639_3 = {
    "ara": "ar", "arb": "ar", "ces": "cs", "cmn": "zh", "deu": "de", "ell": "el", "eng": "en",
    "fin": "fi", "fra": "fr", "hin": "hi", "hun": "hu", "ind": "id", "ita": "it", "jpn": "ja",
    "kor": "ko", "nld": "nl", "pes": "fa", "pol": "pl", "por": "pt", "rus": "ru", "spa": "es",
    "tha": "th", "tur": "tr", "vie": "vi", "zho": "zh",
}


# --------------------------------------------------------------------------- config


def declared_sources(config: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """`data.sources` with canonical pair keys ('ko-en' → 'en-ko')."""
    declared: dict[str, dict[str, dict[str, Any]]] = {}
    for pair, splits in (config["data"].get("sources") or {}).items():
        try:
            canonical = canonical_pair(pair)
        except ValueError as error:
            raise ConfigError(f"data.sources: {error}") from error
        if canonical in declared:
            raise ConfigError(f"data.sources: {pair!r} repeats pair {canonical!r} (pairs are unordered)")
        declared[canonical] = dict(splits or {})
    return declared


def source_for(config: dict[str, Any], pair: str, split: str) -> dict[str, Any]:
    """The source entry of one pair's split: its `data.sources` entry, else the default."""
    entry = declared_sources(config).get(canonical_pair(pair), {}).get(split)
    if entry is not None:
        return dict(entry)
    default = config["data"].get("source", "synthetic")
    if default != "synthetic":
        raise ConfigError(
            f"data.sources: {pair} {split} has no entry, and data.source is {default!r} "
            "(only 'synthetic' works without one); add data.sources."
            f"{canonical_pair(pair)}.{split}"
        )
    return {"type": "synthetic"}


def needed_splits(seen: list[str], unseen: list[str]) -> list[tuple[str, str]]:
    """(pair, split) of every manifest the study reads: seen pairs all splits, unseen test."""
    return [(pair, split) for pair in seen for split in SPLITS] + [(pair, "test") for pair in unseen]


def check_sources(config: dict[str, Any], seen: list[str], unseen: list[str]) -> None:
    """Raise ConfigError (one line, naming the key) on a source that cannot work.

    Checked before any job runs: a missing entry, a local path that does not exist, a
    language eSpeak cannot voice in a synthetic pair, an unknown column field.
    """
    declared_sources(config)
    for pair, split in needed_splits(seen, unseen):
        entry = source_for(config, pair, split)
        key = f"data.sources.{pair}.{split}"
        kind = entry.get("type")
        if kind == "synthetic":
            for code in pair_languages(pair):
                if code not in SUPPORTED_LANGUAGES:
                    raise ConfigError(
                        f"{key}: {pair} is synthetic but {code!r} cannot be synthesized offline; "
                        f"give it an hf or manifest source (synthetic supports {sorted(SUPPORTED_LANGUAGES)})"
                    )
        elif kind == "hf":
            name = str(entry["id"])
            if not is_hub_id(name) and not Path(name).expanduser().exists():
                raise ConfigError(f"{key}.id: {name!r} is neither a local folder nor a Hugging Face id")
        elif kind == "manifest":
            path = Path(str(entry["path"])).expanduser()
            if not entry.get("repo") and not path.is_file():
                raise ConfigError(f"{key}.path: manifest file {str(path)!r} does not exist")
        else:
            raise ConfigError(f"{key}.type: {kind!r} is not one of {list(SOURCE_TYPES)}")
        for field in entry.get("columns") or {}:
            if field not in COLUMN_FIELDS:
                raise ConfigError(f"{key}.columns: {field!r} is not one of {list(COLUMN_FIELDS)}")
    if config["base_model"] == "local-tiny":
        for code in config["languages"]:
            if code not in SUPPORTED_LANGUAGES:
                raise ConfigError(
                    f"base_model: local-tiny is pretrained on synthetic speech, which cannot voice "
                    f"{code!r}; use a Whisper checkpoint (e.g. openai/whisper-medium)"
                )


def prepared_splits(config: dict[str, Any], seen: list[str], unseen: list[str]) -> list[str]:
    """'pair/split' of every needed split that is prepared from a real (non-synthetic) source."""
    return [
        f"{pair}/{split}"
        for pair, split in needed_splits(seen, unseen)
        if source_for(config, pair, split)["type"] != "synthetic"
    ]


def dataset_downloads(config: dict[str, Any], seen: list[str], unseen: list[str]) -> dict[str, dict[str, Any]]:
    """Every hub download the study needs, by key (one per distinct dataset split or file set)."""
    downloads: dict[str, dict[str, Any]] = {}
    for pair, split in needed_splits(seen, unseen):
        download = dataset_download(source_for(config, pair, split))
        if download is not None:
            downloads[download_key(download)] = download
    return downloads


def source_inputs(config: dict[str, Any], pair: str, split: str) -> dict[str, str]:
    """The local files a prepare job reads: the dataset folder (download or local), or the manifest."""
    entry = source_for(config, pair, split)
    download = dataset_download(entry)
    if download is not None:
        return {"dataset": f"{hub_dir(config)}/datasets/{download_key(download)}"}
    if entry["type"] == "hf":
        return {"dataset": str(entry["id"])}
    if entry["type"] == "manifest":
        return {"manifest": str(entry["path"])}
    return {}


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class SourceRow:
    """One utterance as a source gives it, before its audio is decoded."""

    index: int
    fields: dict[str, Any]


def _columns(spec: dict[str, Any]) -> dict[str, str | None]:
    columns: dict[str, str | None] = {field: None for field in COLUMN_FIELDS}
    columns.update(DEFAULT_COLUMNS)
    columns.update(spec.get("columns") or {})
    return columns


def _filter_values(spec: dict[str, Any]) -> dict[str, set[str]]:
    values: dict[str, set[str]] = {}
    for column, wanted in (spec.get("filter") or {}).items():
        wanted = wanted if isinstance(wanted, list) else [wanted]
        values[column] = {str(value) for value in wanted}
    return values


def _select(rows: list[dict[str, Any]], spec: dict[str, Any], name: str) -> list[int]:
    """Indices of the rows to keep: the filter, then `offset`/`limit` over a fixed shuffle.

    The shuffle seed is fixed (not the study's seed) so that a test set stays the same
    utterances when the training seed changes; disjoint `offset` ranges give disjoint
    dev and test sets drawn from one split.
    """
    keep = list(range(len(rows)))
    for column, wanted in _filter_values(spec).items():
        if rows and column not in rows[0]:
            raise SourceError(f"{name}: filter column {column!r} is not a column ({sorted(rows[0])})")
        kept = [i for i in keep if str(rows[i].get(column)) in wanted]
        if not kept:
            found = sorted({str(rows[i].get(column)) for i in keep})
            shown = ", ".join(found[:12]) + (" …" if len(found) > 12 else "")
            raise SourceError(f"{name}: no row has {column} in {sorted(wanted)} (values present: {shown})")
        keep = kept
    offset, limit = int(spec.get("offset", 0) or 0), spec.get("limit")
    if offset or limit is not None:
        random.Random(int(spec.get("shuffle_seed", 0))).shuffle(keep)
        keep = sorted(keep[offset : offset + int(limit) if limit is not None else None])
        if not keep:
            raise SourceError(f"{name}: offset {offset} leaves no rows (the source has fewer)")
    return keep


def hf_rows(folder: str | Path, spec: dict[str, Any]) -> tuple[Iterator[SourceRow], int, str]:
    """Rows of an `hf` source read from a local folder (a download or the user's own copy).

    Audio is read lazily, a batch at a time: a training split can be gigabytes.
    """
    dataset = open_hf_dataset(folder, spec)
    name = f"dataset {spec['id']}"
    columns = _columns(spec)
    wanted = sorted({c for c in columns.values() if c} | set(_filter_values(spec)))
    missing = [c for c in wanted if c not in dataset.column_names]
    if missing:
        raise SourceError(
            f"{name}: column {missing[0]!r} not found (columns: {dataset.column_names}); "
            "fix the source's columns mapping"
        )
    audio_column = columns["audio"]
    assert audio_column is not None
    light = [c for c in wanted if c != audio_column]
    if light:
        metadata = dataset.select_columns(light).with_format("arrow")[:].to_pylist()
    else:
        metadata = [{} for _ in range(len(dataset))]
    keep = _select(metadata, spec, name)

    def rows() -> Iterator[SourceRow]:
        selected = dataset.select(keep).select_columns([audio_column]).with_format("arrow")
        indices = iter(keep)
        for table in selected.iter(batch_size=32):
            for audio in table.column(audio_column).to_pylist():
                index = next(indices)
                yield SourceRow(index, {**metadata[index], audio_column: audio})

    return rows(), len(keep), name


def open_hf_dataset(folder: str | Path, spec: dict[str, Any]):
    """A `datasets.Dataset` from a local folder: `load_from_disk` output, or data files."""
    import datasets

    folder = Path(folder).expanduser()
    split = spec["split"]
    saved = (folder / "state.json").is_file() or (folder / "dataset_dict.json").is_file()
    if saved:
        dataset = datasets.load_from_disk(str(folder))
    else:
        dataset = datasets.load_dataset(
            str(folder), spec.get("config"), data_dir=spec.get("data_dir"), split=split
        )
    if isinstance(dataset, datasets.DatasetDict):
        if split not in dataset:
            raise SourceError(f"dataset {spec['id']}: no split {split!r} (splits: {sorted(dataset)})")
        dataset = dataset[split]
    return dataset


def read_records(path: Path, name: str) -> list[dict[str, Any]]:
    """The rows of a JSONL or CSV/TSV manifest file, as dicts."""
    if not path.is_file():
        raise SourceError(f"{name}: file does not exist")
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8-sig")
    if suffix in (".csv", ".tsv"):
        records = list(csv.DictReader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ","))
    else:
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise SourceError(f"{path}:{number}: not valid JSON ({error.msg})") from error
    if not records:
        raise SourceError(f"{name}: holds no rows")
    return records


def audio_files_to_fetch(records: list[dict[str, Any]], download: dict[str, Any]) -> list[str]:
    """The repository paths of the audio a metadata-first download must fetch: the rows the
    source selects (its filter and offset/limit, as preparation will select them), their audio
    column joined to the manifest's folder, ``//`` and ``./`` normalized; narrowed to the
    download's `patterns` (the source's `include`) when it has any."""
    select = download.get("select") or {}
    column = select.get("audio_column", "audio")
    name = f"manifest {download['manifest']} of {download['id']}"
    if column not in records[0]:
        raise SourceError(f"{name}: column {column!r} (audio) not found (columns: {sorted(records[0])})")
    folder = posixpath.dirname(download["manifest"])
    files = set()
    for index in _select(records, select, name):
        value = str(records[index].get(column) or "").replace("\\", "/")
        if not value:
            continue
        files.add(posixpath.normpath(posixpath.join(folder, value.lstrip("/"))))
    patterns = download.get("patterns") or []
    if patterns:
        files = {path for path in files if any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)}
    if not files:
        raise SourceError(f"{name}: the source selects no audio file to download (check filter and include)")
    return sorted(files)


def download_manifest_files(download: dict[str, Any], output: str | Path, cache_dir: str | None = None) -> None:
    """A metadata-first file download, atomically: the manifest, then exactly the audio
    files of the rows the source selects (`audio_files_to_fetch`)."""
    with atomic_path(output) as temporary:
        fetch_repo_files(download, [download["manifest"]], temporary, cache_dir)
        records = read_records(temporary / download["manifest"], f"manifest {download['manifest']}")
        files = audio_files_to_fetch(records, download)
        logger.info("%s: %d rows selected, fetching %d audio files", download["id"], len(records), len(files))
        fetch_repo_files(download, files, temporary, cache_dir)


def manifest_rows(path: str | Path, spec: dict[str, Any]) -> tuple[Iterator[SourceRow], int, str]:
    """Rows of a JSONL or CSV/TSV manifest; audio paths stay relative to the file (resolved later)."""
    path = Path(path).expanduser()
    name = f"manifest {path}"
    records = read_records(path, name)
    columns = _columns(spec)
    for field in ("audio", "text"):
        column = columns[field]
        if column not in records[0]:
            raise SourceError(f"{name}: column {column!r} ({field}) not found (columns: {sorted(records[0])})")
    keep = _select(records, spec, name)
    return (SourceRow(i, records[i]) for i in keep), len(keep), name


# --------------------------------------------------------------------------- audio, fields


def decode_audio(value: Any, base: Path | None, name: str, hint: str = "") -> np.ndarray:
    """Float32 mono 16 kHz samples from whatever a source stores.

    Accepts: a path (relative to `base`, the manifest's folder), the Arrow storage of a
    `datasets.Audio` column ({'bytes', 'path'}), or decoded {'array', 'sampling_rate'}.
    """
    rate: int
    if isinstance(value, dict) and value.get("array") is not None:
        samples = np.asarray(value["array"], dtype=np.float32)
        rate = int(value["sampling_rate"])
    else:
        if isinstance(value, dict) and value.get("bytes"):
            handle: Any = io.BytesIO(value["bytes"])
            label = value.get("path") or "embedded audio"
        else:
            raw = value.get("path") if isinstance(value, dict) else value
            if not raw:
                raise SourceError(f"{name}: a row has no audio")
            path = Path(str(raw)).expanduser()
            if not path.is_absolute() and base is not None:
                path = base / path
            if not path.is_file():
                raise SourceError(f"{name}: audio file {path} is missing{hint}")
            handle, label = str(path), str(path)
        try:
            samples, rate = soundfile.read(handle, dtype="float32", always_2d=True)
        except Exception as error:  # libsndfile raises several types
            raise SourceError(f"{name}: audio {label} cannot be decoded ({error})") from error
    if samples.ndim == 2:
        samples = samples.mean(axis=1) if samples.shape[1] <= 8 else samples.mean(axis=0)
    if rate != SAMPLE_RATE:
        import soxr

        samples = soxr.resample(samples, rate, SAMPLE_RATE)
    return np.ascontiguousarray(samples, dtype=np.float32)


def language_code(value: Any) -> str:
    """A Whisper language code from a corpus's label: 'ko', 'kor', or 'kor-eng' (first part)."""
    code = str(value or "").strip().lower().replace("_", "-").split("-")[0]
    return ISO639_3.get(code, code)


def parse_tokens(value: Any) -> list[list[str]]:
    """Per-token language tags as [[word, lang], ...] from pairs, dicts or a JSON string."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"tokens {value[:40]!r} are not JSON") from error
    tokens: list[list[str]] = []
    for item in value:
        if isinstance(item, dict):
            word = item.get("word", item.get("token", item.get("text")))
            lang = item.get("lang", item.get("language"))
        else:
            word, lang = item
        tokens.append([str(word), language_code(lang)])
    return tokens


# --------------------------------------------------------------------------- prepare


def prepare_source(
    spec: dict[str, Any],
    pair: str,
    split: str,
    manifest_path: str | Path,
    audio_dir: str | Path,
    dataset: str | Path | None = None,
    manifest: str | Path | None = None,
) -> int:
    """Turn one `hf` or `manifest` source into a csbench manifest + 16 kHz WAVs; return the count.

    `dataset` is the local folder of an hf source (or of a hub file snapshot), `manifest`
    the local manifest file. Rows with empty text or longer than `max_duration_s` are
    skipped and counted in the log; both outputs appear atomically.
    """
    kind = spec["type"]
    base: Path | None
    if kind == "hf":
        assert dataset is not None, "an hf source needs its dataset folder"
        rows, count, name = hf_rows(dataset, spec)
        base = Path(dataset)
    elif kind == "manifest":
        path = Path(dataset) / spec["path"] if spec.get("repo") else Path(manifest or spec["path"])
        rows, count, name = manifest_rows(path, spec)
        base = path.parent
    else:
        raise SourceError(f"{pair} {split}: source type {kind!r} is not prepared here (only hf, manifest)")
    columns = _columns(spec)
    hint = " (fetched from the hub: widen the source's include patterns)" if spec.get("repo") else ""
    manifest_path, audio_dir = Path(manifest_path), Path(audio_dir)
    max_duration = spec.get("max_duration_s")
    fixed_matrix = spec.get("matrix_lang")
    markers = spec.get("embedded_markers")
    written: list[dict[str, Any]] = []
    skipped = {"empty text": 0, "empty audio": 0, "too long": 0}
    ids: set[str] = set()
    with atomic_path(audio_dir) as temporary:
        temporary.mkdir(parents=True)
        for row in _progress(rows, count, f"prepare {pair} {split}"):
            fields = row.fields
            text = " ".join(str(fields.get(columns["text"]) or "").split())
            if not text:
                skipped["empty text"] += 1
                continue
            samples = decode_audio(fields.get(columns["audio"]), base, name, hint)
            duration = samples.size / SAMPLE_RATE
            if samples.size == 0:
                skipped["empty audio"] += 1
                continue
            if max_duration is not None and duration > float(max_duration):
                skipped["too long"] += 1
                continue
            # Prefixed with the pair: corpora number utterances per subset ("jpn_1928"), and the
            # leakage guard compares ids across pairs, so raw ids could collide falsely.
            source_id = _value(fields, columns["id"]) or f"{split}-{row.index:06d}"
            utterance_id = f"{canonical_pair(pair)}:{source_id}"
            if utterance_id in ids:
                raise SourceError(f"{name}: utterance id {utterance_id!r} repeats; map columns.id to a unique column")
            ids.add(utterance_id)
            file_name = f"{len(written):06d}.wav"
            wav = io.BytesIO()
            soundfile.write(wav, samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")
            (temporary / file_name).write_bytes(wav.getvalue())
            matrix = _value(fields, columns["matrix_lang"]) or fixed_matrix or ""
            try:
                tokens = parse_tokens(fields.get(columns["tokens"])) if columns["tokens"] else []
                loanwords = parse_loanwords(fields.get(columns["loanwords"])) if columns["loanwords"] else []
                if markers:
                    text, tokens = split_marked_text(text, markers, *_matrix_and_embedded(pair, matrix))
            except (TypeError, ValueError) as error:
                raise SourceError(f"{name}: utterance {utterance_id!r}: {error}") from error
            written.append(
                {
                    "id": utterance_id,
                    "audio": str(Path(audio_dir.name) / file_name)
                    if audio_dir.parent == manifest_path.parent
                    else str(audio_dir.resolve() / file_name),
                    "text": text,
                    "tokens": tokens,
                    "duration": round(duration, 4),
                    "pair": canonical_pair(pair),
                    "matrix_lang": language_code(matrix) if matrix else "",
                    "cs_level": _value(fields, columns["cs_level"]) or str(spec.get("cs_level") or ""),
                    "speaker": _value(fields, columns["speaker"]),
                    **({"loanwords": [list(pair) for pair in loanwords]} if loanwords else {}),
                    "source": _describe(spec),
                }
            )
        if not written:
            raise SourceError(f"{name}: no usable utterance for {pair} {split} ({_skips(skipped)})")
        check_japanese_script(written, pair, f"{name} ({pair} {split})")
    write_jsonl(manifest_path, written)
    logger.info("%s %s: %d utterances from %s (skipped: %s)", pair, split, len(written), name, _skips(skipped))
    return len(written)


#: Below this share of utterances with any kana or kanji, a Japanese pair's text is taken
#: for romanized (rōmaji); real Japanese code-switched text has kana in nearly every one.
JAPANESE_SCRIPT_SHARE = 0.5


def check_japanese_script(rows: list[dict[str, Any]], pair: str, name: str) -> None:
    """Stop when a pair with Japanese has (almost) no Japanese script in its text.

    A romanized transcript ("kyou wa meeting desu") would be scored per word where kana and
    kanji are scored per character, and the model would be taught to write rōmaji: the MER of
    such a pair is not comparable with the others'. Whether a corpus romanizes Japanese is
    therefore checked on the prepared text itself, not assumed from its card.
    """
    if "ja" not in pair_languages(canonical_pair(pair)):
        return
    scripted = sum(any(char_script(char) in ("kana", "han") for char in row["text"]) for row in rows)
    if scripted < JAPANESE_SCRIPT_SHARE * len(rows):
        example = next(row["text"] for row in rows if not any(char_script(c) in ("kana", "han") for c in row["text"]))
        raise SourceError(
            f"{name}: Japanese text looks romanized ({scripted} of {len(rows)} utterances have kana or kanji, "
            f"e.g. {example[:60]!r}); use a source that writes Japanese in its own script"
        )


def _matrix_and_embedded(pair: str, matrix: str) -> tuple[str, str]:
    """(matrix, embedded) language codes of an utterance of `pair` whose matrix label is `matrix`."""
    first, second = pair_languages(canonical_pair(pair))
    code = language_code(matrix) if matrix else ""
    if code not in (first, second):
        raise ValueError(f"embedded_markers need the matrix language, one of {first}, {second}; got {matrix!r}")
    return code, second if code == first else first


def split_marked_text(text: str, marker: str, matrix: str, embedded: str) -> tuple[str, list[list[str]]]:
    """(text without the markers, per-word [word, language] tags) of a transcript whose
    embedded-language spans are wrapped in `marker` (CS-FLEURS's synthetic training text:
    "ich habe das **file** gelöscht"). Words outside a span are `matrix`, inside `embedded`.

    Raises ValueError for an odd number of markers (a span that never closes).
    """
    parts = text.split(marker)
    if len(parts) % 2 == 0:
        raise ValueError(f"text {text[:60]!r} has an unclosed {marker!r} span")
    tokens = [
        [word, embedded if index % 2 else matrix]
        for index, part in enumerate(parts)
        for word in part.split()
    ]
    return " ".join("".join(parts).split()), tokens


def _value(fields: dict[str, Any], column: str | None) -> str:
    if not column:
        return ""
    value = fields.get(column)
    return "" if value is None else str(value)


def _describe(spec: dict[str, Any]) -> str:
    """A short provenance string kept in every manifest row."""
    if spec["type"] == "hf":
        parts = [str(spec["id"]), spec.get("config"), spec.get("data_dir"), spec["split"]]
        return "hf:" + "/".join(str(p) for p in parts if p)
    where = f"{spec['repo']}:" if spec.get("repo") else ""
    return f"manifest:{where}{spec['path']}"


def _skips(skipped: dict[str, int]) -> str:
    return ", ".join(f"{count} {why}" for why, count in skipped.items() if count) or "none"


def _progress(rows: Iterator[SourceRow], total: int, desc: str) -> Iterator[SourceRow]:
    from csbench.progress import progress

    return progress(rows, total=total, desc=desc, unit="utt")
