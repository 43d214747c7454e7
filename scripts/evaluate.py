"""Snakemake entry point: decode every pair's test set with one model; store raw output."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from csbench.evaluate.run import DecodeSettings, evaluate_pairs  # noqa: E402
from csbench.workflow import run_job  # noqa: E402


def _files(inputs, key: str) -> list:
    """A named input as a list (Snakemake gives one file as a plain string)."""
    value = inputs.get(key, [])
    return [value] if isinstance(value, str) else list(value)


def work(smk) -> None:
    pairs = list(smk.params.pairs)
    evaluate_pairs(
        model_id=smk.wildcards.model,
        kind=smk.params.kind,
        base_model=smk.params.base_model,
        checkpoint=smk.params.model_file or None,
        tests=dict(zip(pairs, smk.input.tests, strict=True)),
        outputs=dict(zip(pairs, smk.output.predictions, strict=True)),
        settings=DecodeSettings(
            language_mode=smk.params.language,
            batch_size=int(smk.params.batch_size),
            max_new_tokens=int(smk.params.max_new_tokens),
            device_name=smk.params.device,
            precision=smk.params.precision,
        ),
        model_inputs=[str(path) for key in ("base", "model_file", "members") for path in _files(smk.input, key)],
        cache_dir=smk.params.cache_dir,
    )


run_job(snakemake, work)  # noqa: F821
