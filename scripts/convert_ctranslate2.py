"""Snakemake entry point: convert a CTranslate2 Whisper (whisper-base from PyPI, or a
faster-whisper folder) into a transformers `save_pretrained` folder, once."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from csbench.hub import ctranslate2_sources  # noqa: E402
from csbench.models.ctranslate2 import convert_folders  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    convert_folders(ctranslate2_sources(smk.params.model), smk.output[0])


run_job(snakemake, work)  # noqa: F821
