"""Resume state of a training job that survives kills, preemption and half-written files.

Why not one `checkpoint.pt` overwritten in place: on a cluster the scheduler ends jobs at any
moment (time limit, preemption, node failure). A file caught mid-write must never be
loaded, and a file that is damaged anyway (a full disk, a node crash before the page cache
reached the disk) must not cost the whole run. So every checkpoint is

- written to a temporary file, flushed and fsynced, then renamed into place, and followed by a
  small JSON record (step, size, SHA-256) written the same way — a checkpoint without its
  record, or whose bytes do not match it, is never used;
- kept beside the one before it (the two latest are kept), so a corrupt latest one falls back
  to the previous with a warning instead of a crash or a restart from zero;
- loaded with `torch.load(weights_only=True)`: tensors and plain containers only, so a
  checkpoint file cannot run code when it is read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import torch

logger = logging.getLogger(__name__)

#: Checkpoints kept per job: the latest and the one before it (the fallback).
KEEP = 2
_NAME = re.compile(r"^step-(\d+)\.pt$")


def _fsync_write(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _fsync_dir(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def save_checkpoint(directory: str | Path, step: int, state: dict[str, Any]) -> Path:
    """Write `state` (tensors and plain containers) as the checkpoint of `step`; keep the
    previous one; return the file written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"step-{step:08d}.pt"
    buffer = _serialize(state)
    _fsync_write(path, buffer)
    record = {"step": step, "bytes": len(buffer), "sha256": hashlib.sha256(buffer).hexdigest()}
    _fsync_write(path.with_suffix(".json"), json.dumps(record).encode())
    _fsync_dir(directory)
    for old in checkpoints(directory)[KEEP:]:
        old.unlink(missing_ok=True)
        old.with_suffix(".json").unlink(missing_ok=True)
    return path


def _serialize(state: dict[str, Any]) -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def checkpoints(directory: str | Path) -> list[Path]:
    """Checkpoint files in `directory`, newest step first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(match.group(1)), path) for path in directory.iterdir() if (match := _NAME.match(path.name))]
    return [path for _, path in sorted(found, reverse=True)]


def load_checkpoint(directory: str | Path, device: torch.device | str = "cpu") -> dict[str, Any] | None:
    """The newest checkpoint that is complete and intact, or None if there is none.

    One that is truncated, altered or lacks its record is skipped with a warning naming it and
    why, and the one before it is tried.
    """
    import io

    for path in checkpoints(directory):
        data, problem = _verified_bytes(path)
        if data is not None:
            try:
                return torch.load(io.BytesIO(data), map_location=device, weights_only=True)
            except Exception as error:  # noqa: BLE001 - any unreadable file is skipped alike
                problem = f"cannot be read ({type(error).__name__}: {str(error).splitlines()[0][:120]})"
        logger.warning("checkpoint %s %s; trying the one before it", path, problem)
    return None


def _verified_bytes(path: Path) -> tuple[bytes | None, str]:
    """(the file's bytes, "") if they match its record, else (None, what is wrong)."""
    try:
        record = json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return None, "has no complete record (written when it was interrupted?)"
    data = path.read_bytes()
    if len(data) != record.get("bytes"):
        return None, f"is {len(data)} bytes, its record says {record.get('bytes')} (truncated?)"
    if hashlib.sha256(data).hexdigest() != record.get("sha256"):
        return None, "does not match its SHA-256 (corrupt)"
    return data, ""


def remove_checkpoints(directory: str | Path) -> None:
    """Delete a finished job's resume state (optimizer moments are twice the model's size)."""
    import shutil

    shutil.rmtree(directory, ignore_errors=True)
