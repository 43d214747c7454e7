"""Progress bars that serve both a terminal and a rule's log file.

Snakemake shows a job's stderr on the terminal, while its `log:` file is what a user reads
on a cluster. tqdm draws the bar (rate, ETA) on stderr; every `log_every_s` seconds the
same line is also written through `logging`, so the log gets one line per interval.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
logger = logging.getLogger("csbench")


class LoggedProgress(tqdm):
    """A tqdm bar that also logs its line at most every `log_every_s` seconds."""

    def __init__(self, *args, log_every_s: float = 10.0, **kwargs) -> None:
        kwargs.setdefault("file", sys.stderr)
        kwargs.setdefault("mininterval", 1.0)
        kwargs.setdefault("dynamic_ncols", True)
        super().__init__(*args, **kwargs)
        self._log_every_s = log_every_s
        self._last_logged = time.monotonic()

    def update(self, n: float | None = 1) -> bool | None:
        shown = super().update(n)
        now = time.monotonic()
        if now - self._last_logged >= self._log_every_s:
            self._last_logged = now
            logger.info("%s", self.format_meter(**self.format_dict))
        return shown

    def close(self) -> None:
        if not self.disable and self.total is not None:
            logger.info("%s", self.format_meter(**self.format_dict))
        super().close()


def progress(iterable: Iterable[T], total: int | None = None, desc: str = "", **kwargs) -> Iterator[T]:
    """Iterate with a logged progress bar."""
    with LoggedProgress(iterable, total=total, desc=desc, **kwargs) as bar:
        yield from bar


def setup_logging(log_path: str | None = None, level: int = logging.INFO) -> None:
    """Send csbench logs to a rule's log file (and stderr when no file is given)."""
    handlers: list[logging.Handler] = []
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    else:
        handlers.append(logging.StreamHandler(sys.stderr))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
