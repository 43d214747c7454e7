"""Atomic writes: an output is either complete or absent.

Snakemake treats an existing output file as done once its job is not marked incomplete,
and a killed job's partial file could otherwise survive a crash of Snakemake itself.
Writing to a temporary sibling and renaming makes every output all-or-nothing.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _temporary_sibling(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path (file or directory) that replaces `path` on success."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_sibling(final)
    _remove(temporary)
    try:
        yield temporary
        if final.exists():
            _remove(final)
        os.replace(temporary, final)
    finally:
        _remove(temporary)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write `text` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write `data` as indented JSON atomically (keys sorted for byte-identical reruns)."""
    write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> None:
    """Write one JSON object per line atomically."""
    lines = [json.dumps(row, sort_keys=True, ensure_ascii=False) for row in rows]
    write_text(path, "".join(line + "\n" for line in lines))


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def stat_fingerprint(paths: Iterable[str | os.PathLike], extra: Any = None) -> str:
    """A digest of the files at `paths` (folders recursively) by name, size and mtime, plus `extra`.

    The same test Snakemake applies to decide whether an input changed (it reruns on
    mtime), at the cost of a `stat` per file rather than a read: a multi-gigabyte checkpoint
    is fingerprinted in microseconds. Used to reuse cached work only while its inputs are
    untouched.
    """
    import hashlib

    entries = []
    for root in sorted(str(path) for path in paths):
        files = sorted(Path(root).rglob("*")) if Path(root).is_dir() else [Path(root)]
        for file in files:
            if file.is_file():
                stat = file.stat()
                entries.append([str(file), stat.st_size, stat.st_mtime_ns])
    payload = json.dumps([entries, extra], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()
