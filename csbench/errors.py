"""The one family of errors a csbench user can cause: every one is a `CsbenchError`.

Why one base class: a workflow job (`csbench.workflow.run_job`) turns exactly these into one
line naming what is wrong and where, and lets everything else — a bug — keep its traceback.
With one class it needs no list of error types from every package (which made the lowest
layer import the highest), and a new user-facing error is one subclass here.

Each subclass also derives from the built-in it refines (ValueError for bad input, RuntimeError
for a failure while running), so code that catches the built-in keeps working. The modules
that raise an error re-export its class (``from csbench.data.manifest import ManifestError``
keeps working); this file is its one definition.
"""

from __future__ import annotations


class CsbenchError(Exception):
    """A failure the user can fix; its message is one line naming the cause and the place."""


class ConfigError(CsbenchError, ValueError):
    """The config is inconsistent; the message names the offending key."""


class ManifestError(CsbenchError, ValueError):
    """A manifest or audio file is unusable; the message names the file (and line)."""


class SourceError(ManifestError):
    """A data source cannot be read or prepared; the message names it and a fix."""


class HubDownloadError(CsbenchError, RuntimeError):
    """A Hugging Face download failed; the message names the repo and a fix."""


class LeakageError(CsbenchError, ValueError):
    """An unseen-pair test utterance also appears in a training or dev set."""


class EspeakError(CsbenchError, RuntimeError):
    """libespeak-ng cannot be loaded or refuses a voice or text."""


class ModelLoadError(CsbenchError, RuntimeError):
    """A model cannot be loaded; the message says which and what to do."""


class Ctranslate2FormatError(CsbenchError, ValueError):
    """A file is not a CTranslate2 model this reader understands."""


class NonFiniteLossError(CsbenchError, RuntimeError):
    """The loss became NaN or infinite; the message names the step and the batch."""


class OutOfMemoryError(CsbenchError, RuntimeError):
    """A step ran out of GPU memory; the message names the batch size to lower."""

    @classmethod
    def during(cls, what: str, batch_size: int, setting: str, error: BaseException) -> OutOfMemoryError:
        """The one-line message for running out of memory while doing `what`."""
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        return cls(
            f"out of GPU memory {what} with {batch_size} utterances per batch: lower {setting} "
            f"(now {batch_size}) or use a GPU with more memory ({first_line[:120]})"
        )


class TrainingInterrupted(CsbenchError, RuntimeError):
    """The scheduler asked a training job to stop (SIGTERM, SIGUSR1); its state is saved and a
    rerun resumes from it."""


class MergeError(CsbenchError, ValueError):
    """Task vectors cannot be merged as asked (mismatched members, bad hyperparameters)."""


class DGError(CsbenchError, ValueError):
    """A domain-generalization method cannot run as configured."""
