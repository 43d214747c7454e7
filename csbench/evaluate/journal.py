"""A decoding journal: the batches of one (model, pair) decoded so far, kept across a kill.

An evaluation job decodes a pair's test set batch by batch; on a cluster it can be killed
at its time limit, on preemption or with its node. The finished pairs are already kept by
the evaluation cache (csbench.evaluate.run); this journal keeps the pair in flight, so a
rerun decodes only the batches it had not finished: a kill loses at most one batch.

Trade-off (issue 16): one appended line per batch (its utterance ids and hypotheses, a few
kilobytes), flushed to the operating system but not fsynced. A killed process loses nothing
that was flushed; a node crash may lose the last lines or leave one half written, and a half
line is detected (it does not parse) and dropped, so the rerun re-decodes that batch. An
fsync per batch would protect against node crashes too, at a disk round trip per batch on a
network file system, for work a rerun redoes in one batch's time. The header line carries the
cache fingerprint (model files, manifest, audio, decoding settings): a journal written under
other inputs is discarded, never mixed in.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from csbench.io import write_text

logger = logging.getLogger(__name__)


class DecodeJournal:
    """Append-only JSON lines: a header {"fingerprint"}, then one {"hypotheses"} per batch."""

    def __init__(self, path: str | os.PathLike, fingerprint: str) -> None:
        self.path = Path(path)
        self.fingerprint = fingerprint

    def resume(self) -> dict[str, str]:
        """The hypotheses recorded under this fingerprint, and a journal ready to append to.

        A journal of other inputs is replaced by an empty one; a half-written last line is
        dropped (the file is rewritten with the lines that parse, so appends follow a whole
        line).
        """
        header = json.dumps({"fingerprint": self.fingerprint}, sort_keys=True)
        lines = self.path.read_text(encoding="utf-8").splitlines() if self.path.exists() else []
        if not lines or lines[0] != header:
            if lines:
                logger.info("%s: written under other inputs, discarded", self.path)
            write_text(self.path, header + "\n")
            return {}
        kept, hypotheses = [header], {}
        for number, line in enumerate(lines[1:], start=2):
            try:
                batch = json.loads(line)["hypotheses"]
            except (json.JSONDecodeError, KeyError, TypeError):
                logger.warning("%s: line %d is incomplete (killed while writing it); its batch is "
                               "decoded again", self.path, number)
                break
            hypotheses.update(batch)
            kept.append(line)
        if len(kept) < len(lines):
            write_text(self.path, "".join(line + "\n" for line in kept))
        return hypotheses

    def append(self, hypotheses: dict[str, str]) -> None:
        """Record one decoded batch (flushed, not fsynced: see the module docstring)."""
        line = json.dumps({"hypotheses": hypotheses}, sort_keys=True, ensure_ascii=False)
        with self.path.open("a", encoding="utf-8") as stream:
            stream.write(line + "\n")

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
