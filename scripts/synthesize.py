"""Snakemake entry point: synthesize one split of a pair (or of one language)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from csbench.data.synthesize import SynthesisSettings, synthesize_split  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def work(smk) -> None:
    split = smk.wildcards.split
    settings = SynthesisSettings(
        max_duration_s=float(smk.params.max_duration_s),
        noise_snr_db=smk.params.noise_snr_db,
        lexicon_limits=dict(smk.params.lexicon_limits or {}),
        monolingual_sentences=int(smk.params.get("monolingual_sentences", 1)),
        held_out=bool(smk.params.get("held_out", False)),
    )
    synthesize_split(
        domain=smk.params.domain,
        split=split,
        sizes=dict(smk.params.sizes),
        manifest_path=smk.output.manifest,
        audio_dir=smk.output.audio,
        seed=int(smk.params.seed),
        levels=tuple(smk.params.levels),
        settings=settings,
    )


run_job(snakemake, work)  # noqa: F821
