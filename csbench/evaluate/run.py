"""One evaluation job: materialize a model once, decode every pair's test set, store raw output.

One job per *model*, not per (model, pair): starting Python, importing torch and
transformers and materializing a model (a merge re-merges its members) cost several
seconds, more than decoding a test set with the tiny default model, and a study has
hundreds of (model, pair) cells. Adding a pair must still decode only the new cells: each
finished (model, pair) is kept in a cache entry keyed by a fingerprint of everything it
depends on (model files, test manifest and audio, decoding settings), so a rerun of the
job, whether because a pair was added or because it was killed, decodes only what is
missing or stale. Within the pair in flight, a journal (csbench.evaluate.journal) keeps
each decoded batch, so a killed job loses at most one batch.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from csbench.data.manifest import read_manifest
from csbench.evaluate.journal import DecodeJournal
from csbench.evaluate.materialize import materialize
from csbench.io import read_json, stat_fingerprint, write_json
from csbench.models.decode import decode_dtype, transcribe
from csbench.models.loading import resolve_device

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecodeSettings:
    """What, besides the model and the data, decides a hypothesis."""

    language_mode: str = "matrix"
    batch_size: int = 32
    max_new_tokens: int = 96
    device_name: str = "auto"
    precision: str = "auto"


def evaluate_pairs(
    model_id: str,
    kind: str,
    base_model: str,
    checkpoint: str | None,
    tests: dict[str, str],
    outputs: dict[str, str],
    settings: DecodeSettings = DecodeSettings(),
    model_inputs: list[str] | None = None,
    cache_dir: str | None = None,
) -> dict[str, bool]:
    """Write each pair's predictions to `outputs[pair]`; return {pair: decoded now (not cached)}.

    `model_inputs` are the files the model is materialized from (base, checkpoint, merge
    members) for the cache fingerprint; without `cache_dir` nothing is cached.
    """
    device = resolve_device(settings.device_name)
    dtype = decode_dtype(device, settings.precision)
    model = processor = None
    decoded: dict[str, bool] = {}
    for pair, manifest in tests.items():
        utterances = read_manifest(manifest)
        fingerprint = stat_fingerprint(
            [*(model_inputs or []), manifest, *(u.audio for u in utterances)],
            {"model": model_id, "pair": pair, "settings": asdict(settings), "device": str(device)},
        )
        cache = Path(cache_dir, f"{pair}.json") if cache_dir else None
        cached = read_json(cache) if cache is not None and cache.exists() else None
        if cached is not None and cached.get("fingerprint") == fingerprint:
            logger.info("%s on %s: reused from %s", model_id, pair, cache)
            write_json(outputs[pair], cached["predictions"])
            decoded[pair] = False
            continue
        journal = DecodeJournal(Path(cache_dir, f"{pair}.journal.jsonl"), fingerprint) if cache_dir else None
        done = journal.resume() if journal is not None else {}
        if done:
            logger.info("%s on %s: %d of %d utterances decoded before the job was stopped, kept from %s",
                        model_id, pair, len(done), len(utterances), journal.path)
        if model is None:  # materialize only when something must be decoded
            model, processor = materialize(kind, base_model, checkpoint, device)
        hypotheses, timing = transcribe(
            model, processor, utterances, settings.language_mode, settings.batch_size,
            settings.max_new_tokens, device, dtype, done=done,
            on_batch=journal.append if journal is not None else None,
        )
        timing["resumed_utterances"] = sum(u.id in done for u in utterances)
        logger.info("%s on %s: %d utterances, RTFx %.1f", model_id, pair, len(utterances), timing["rtfx"])
        predictions = {
            "model": model_id,
            "pair": pair,
            "language_mode": settings.language_mode,
            "device": str(device),
            "dtype": str(dtype).removeprefix("torch."),
            "timing": timing,
            "utterances": [
                {"id": u.id, "reference": u.text, "hypothesis": hypotheses[u.id]} for u in utterances
            ],
        }
        if cache is not None:
            write_json(cache, {"fingerprint": fingerprint, "predictions": predictions})
        write_json(outputs[pair], predictions)
        if journal is not None:
            journal.remove()
        decoded[pair] = True
    logger.info("decoded %d pair(s), reused %d from the cache", sum(decoded.values()),
                len(decoded) - sum(decoded.values()))
    return decoded


def evaluate_model(
    model_id: str,
    kind: str,
    base_model: str,
    checkpoint: str | None,
    test_manifest: str,
    pair: str,
    output: str,
    language_mode: str = "matrix",
    batch_size: int = 32,
    max_new_tokens: int = 96,
    device_name: str = "auto",
) -> None:
    """One pair, no cache: write {model, pair, settings, timing, utterances: [{id, reference, hypothesis}]}."""
    evaluate_pairs(
        model_id, kind, base_model, checkpoint, {pair: test_manifest}, {pair: output},
        DecodeSettings(language_mode, batch_size, max_new_tokens, device_name),
    )
