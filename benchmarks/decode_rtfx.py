"""Decoding speed: csbench's batched decoding against a one-at-a-time transformers pipeline.

Evaluation decodes every model on every pair (models × pairs jobs), so its speed decides
what a study costs. csbench sorts utterances by length, groups them by decoder language
and decodes whole batches with one ``generate`` call (``csbench.models.decode.transcribe``);
the usual baseline calls ``transformers.pipeline("automatic-speech-recognition")`` once per
utterance. This runs both on the same model, the same utterances, the same greedy settings
and the same language tokens, in one process, and prints their RTFx (audio seconds per wall
second, decoding only, after a warm-up, audio already in memory: Open ASR Leaderboard
practice) side by side with their ratio. Runs alternate between the two methods and the
median is reported, so a background load slows both alike. ``--precisions fp32 bf16`` runs
both methods at each weights' dtype (csbench's ``evaluate.precision``), so the gain of
batching and the gain of bf16 are read apart.

It also times the encoder alone on the same utterances, batched the same way. Batching
shares the decoder's per-token steps, but the encoder's work per utterance is fixed by the
model's input window (whisper-base: 30 s, whatever the utterance's length), so no batched
decoder can run faster than its encoder: ``pipeline wall / encoder wall`` bounds the ratio
batching can reach at that dtype (Amdahl's law), and the table prints that bound.

Usage (from the repository root)::

    python benchmarks/decode_rtfx.py                         # tiny Whisper + synthetic en-ko speech
    python benchmarks/decode_rtfx.py --model results/base/local-tiny \\
        --manifest results/data/pairs/en-ko/test.jsonl        # a study's base and test set

Without ``--model`` a randomly initialized tiny Whisper of the default local base's size
(d_model 192, 2 + 2 layers) is built; untrained, it rarely emits end-of-text, so both methods
decode ``--max-new-tokens`` tokens per utterance: the same work for each. It also emits
timestamp tokens, and after a pair of them Whisper's ``generate`` decodes the rest of the
window again (three passes per batch seen on 8 utterances; a trained base made one pass per
batch on 150 de-en test utterances): in both methods alike, so the ratio stays fair, but its
RTFx is no trained model's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from csbench.data.manifest import Utterance, read_manifest  # noqa: E402
from csbench.models.decode import decode_batches, language_for, transcribe  # noqa: E402

TARGET_RATIO = 3.0


def synthetic_setup(workdir: Path, utterances: int, seed: int) -> tuple[Path, Path]:
    """A tiny Whisper (tokenizer trained on en-ko text) and an en-ko test set, in ``workdir``."""
    from csbench.data.synthesize import sentence_pool, synthesize_split
    from csbench.models.tiny import TinyWhisperSpec, build_tiny_whisper
    from csbench.models.tokenizer import train_tokenizer

    manifest = workdir / "en-ko" / "test.jsonl"
    synthesize_split("en-ko", "test", {"test": utterances}, manifest, workdir / "en-ko" / "test_audio", seed=seed)
    texts = [s.text for s in sentence_pool("en-ko", {"train": 200}, "train", seed, ("word", "phrase", "sentence"))]
    spec = TinyWhisperSpec()
    tokenizer = train_tokenizer(texts, vocab_size=1000, window_s=spec.window_s)
    model, processor = build_tiny_whisper(tokenizer, spec, seed=seed)
    model_dir = workdir / "tiny"
    model.save_pretrained(model_dir)
    processor.save_pretrained(model_dir)
    return model_dir, manifest


def pipeline_decode(asr, utterances: list[Utterance], audio: dict, language_mode: str,
                    max_new_tokens: int) -> tuple[dict[str, str], float]:
    """One pipeline call per utterance (the common baseline); returns hypotheses and wall seconds."""
    def call(utterance: Utterance) -> str:
        generate_kwargs = {"language": language_for(utterance, language_mode), "task": "transcribe",
                           "max_new_tokens": max_new_tokens, "do_sample": False, "num_beams": 1}
        output = asr({"raw": audio[utterance.id], "sampling_rate": 16_000}, generate_kwargs=generate_kwargs)
        return output["text"]

    call(utterances[0])  # warm-up, excluded from timing as in transcribe()
    hypotheses = {}
    started = time.perf_counter()
    for utterance in utterances:
        hypotheses[utterance.id] = call(utterance)
    return hypotheses, time.perf_counter() - started


def encoder_features(processor, utterances: list[Utterance], audio: dict, language_mode: str, batch_size: int,
                     device: torch.device, dtype: torch.dtype) -> list[torch.Tensor]:
    """The input features of ``transcribe``'s batches (``decode_batches``), made once per dtype."""
    return [processor.feature_extractor([audio[u.id] for u in members], sampling_rate=16_000,
                                        return_tensors="pt").input_features.to(device, dtype)
            for _, members in decode_batches(utterances, language_mode, batch_size)]


def encoder_wall(model, batches: list[torch.Tensor]) -> float:
    """Wall seconds of the encoder alone over ``batches`` of input features."""
    with torch.inference_mode():
        model.model.encoder(batches[0][:1])  # warm-up, as for the two methods
        started = time.perf_counter()
        for features in batches:
            model.model.encoder(features)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a saved Whisper folder (default: build a tiny one)")
    parser.add_argument("--manifest", type=Path, help="a test manifest (default: synthesize en-ko)")
    parser.add_argument("--utterances", type=int, default=32, help="synthetic utterances (or first N of --manifest)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--language-mode", default="matrix", choices=("matrix", "first", "auto"))
    parser.add_argument("--precisions", nargs="+", default=["fp32"], choices=("fp32", "bf16"),
                        help="weights' dtypes to run both methods at (evaluate.precision); the first is the reference")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs per method; median reported")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from transformers import pipeline
    from transformers.utils import logging as hf_logging

    from csbench.models.decode import decode_dtype
    from csbench.models.loading import load_processor, load_whisper

    hf_logging.set_verbosity_error()  # the pipeline's per-call notices would swamp the table
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory(prefix="decode-rtfx-") as scratch:
        model_dir, manifest = args.model, args.manifest
        if model_dir is None or manifest is None:
            built_model, built_manifest = synthetic_setup(Path(scratch), args.utterances, args.seed)
            model_dir, manifest = model_dir or built_model, manifest or built_manifest
        utterances = read_manifest(manifest)[: args.utterances]
        processor = load_processor(model_dir)
        audio = {u.id: u.load_audio() for u in utterances}
        audio_s = sum(len(samples) for samples in audio.values()) / 16_000
        # One model copy per dtype: casting one model back and forth would round its weights.
        runs = []
        for precision in args.precisions:
            dtype = decode_dtype(device, precision)
            model = load_whisper(model_dir, device).to(dtype)
            asr = pipeline("automatic-speech-recognition", model=model, tokenizer=processor.tokenizer,
                           feature_extractor=processor.feature_extractor, device=device, dtype=dtype)
            runs.append({"precision": precision, "dtype": dtype, "model": model, "asr": asr,
                         "features": encoder_features(processor, utterances, audio, args.language_mode,
                                                      args.batch_size, device, dtype),
                         "batched_walls": [], "pipeline_walls": [], "encoder_walls": []})
        for _ in range(args.repeats):
            for run in runs:
                run["batched"], timing = transcribe(run["model"], processor, utterances, args.language_mode,
                                                    args.batch_size, args.max_new_tokens, device, run["dtype"])
                run["batched_walls"].append(timing["wall_s"])
                run["single"], wall = pipeline_decode(run["asr"], utterances, audio, args.language_mode,
                                                      args.max_new_tokens)
                run["pipeline_walls"].append(wall)
                run["encoder_walls"].append(encoder_wall(run["model"], run["features"]))
    reference = runs[0]
    reference_pipeline = statistics.median(reference["pipeline_walls"])
    rows = []
    for run in runs:
        batched_wall, pipeline_wall = statistics.median(run["batched_walls"]), statistics.median(run["pipeline_walls"])
        encoder = statistics.median(run["encoder_walls"])
        rows.append({
            "precision": run["precision"],
            "dtype": str(run["dtype"]).removeprefix("torch."),
            "batched_wall_s": batched_wall,
            "batched_rtfx": audio_s / batched_wall,
            "pipeline_wall_s": pipeline_wall,
            "pipeline_rtfx": audio_s / pipeline_wall,
            "ratio": pipeline_wall / batched_wall,
            "encoder_wall_s": encoder,
            "encoder_share_of_batched": encoder / batched_wall,
            "batching_bound": pipeline_wall / encoder,
            "ratio_vs_reference_pipeline": reference_pipeline / batched_wall,
            "identical_hypotheses": sum(run["batched"][u.id].strip() == run["single"][u.id].strip() for u in utterances),
            "identical_to_reference_batched": sum(
                run["batched"][u.id].strip() == reference["batched"][u.id].strip() for u in utterances),
        })
    numbers = {
        "model": str(args.model or "tiny random Whisper (default local-base size)"),
        "parameters": sum(p.numel() for p in reference["model"].parameters()),
        "utterances": len(utterances),
        "audio_s": audio_s,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "max_new_tokens": args.max_new_tokens,
        "repeats": args.repeats,
        "runs": rows,
    }
    print(f"model: {numbers['model']} ({numbers['parameters'] / 1e6:.2f} M parameters), {len(utterances)} "
          f"utterances, {audio_s:.1f} s of audio, device {device}, {numbers['threads']} threads, "
          f"median of {args.repeats} alternating runs")
    print(f"{'method':<52}{'wall s':>9}{'RTFx':>9}")
    for row in rows:
        print(f"{f'csbench batched (batch size {args.batch_size}), ' + row['dtype']:<52}"
              f"{row['batched_wall_s']:>9.2f}{row['batched_rtfx']:>9.1f}")
        print(f"{'transformers pipeline, one utterance a call, ' + row['dtype']:<52}"
              f"{row['pipeline_wall_s']:>9.2f}{row['pipeline_rtfx']:>9.1f}")
        print(f"{'encoder alone, batched the same way, ' + row['dtype']:<52}"
              f"{row['encoder_wall_s']:>9.2f}{audio_s / row['encoder_wall_s']:>9.1f}")
    for row in rows:
        verdict = "meets" if row["ratio"] >= TARGET_RATIO else "BELOW"
        print(f"{row['dtype']}: batched / pipeline at the same dtype {row['ratio']:.2f}x ({verdict} the "
              f"{TARGET_RATIO:.0f}x target); identical hypotheses {row['identical_hypotheses']}/{len(utterances)}")
        print(f"{row['dtype']}: the encoder is {row['encoder_share_of_batched']:.0%} of batched decoding; "
              f"batching can reach at most pipeline / encoder = {row['batching_bound']:.2f}x at this dtype")
        if row is not rows[0]:
            print(f"{row['dtype']}: batched against the {rows[0]['dtype']} pipeline "
                  f"{row['ratio_vs_reference_pipeline']:.2f}x; hypotheses identical to {rows[0]['dtype']} batched "
                  f"{row['identical_to_reference_batched']}/{len(utterances)}")
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
