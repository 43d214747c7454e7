"""Checks of the synthetic code-switching speech generator and the manifest reader.

The generator is the offline data source of the whole benchmark: every number the study
reports is measured on its output, so its promises are tested on real eSpeak NG audio for
all 28 pairs of the 8 supported languages rather than on mocks. The promises are:
- audio: 16 kHz mono WAVs whose length matches the manifest;
- tags: every token is tagged with the language whose script it is written in, and each
  code-switched utterance mixes exactly the pair's two languages;
- splits: the splits of one pair never share a sentence, the test set does not move when
  the training set grows, and an unseen pair's test sentences are not trained on;
- reproducibility: the same call writes the same bytes, in any process;
- options: noise changes the audio only, and over-long utterances are skipped.
Generation is shared by module-scoped fixtures so the whole file stays well under a minute.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
import time
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
import soundfile

from csbench.data.espeak import Voice, get_engine
from csbench.data.lexicon import load_lexicon
from csbench.data.manifest import SAMPLE_RATE, ManifestError, load_audio, read_manifest
from csbench.data.synthesize import (
    VOICE_VARIANTS,
    SynthesisSettings,
    _trim,
    sentence_pool,
    stable_seed,
    synthesize_split,
)
from csbench.data.text import CS_LEVELS, Token, matrix_language, monolingual_sentence, render_text
from csbench.languages import SUPPORTED_LANGUAGES, char_script, pair_languages

REPO = Path(__file__).resolve().parents[1]
LANGS = ("en", "ko", "ja", "de", "zh", "es", "fr", "hi")
PAIRS = tuple("-".join(sorted(pair)) for pair in combinations(LANGS, 2))
#: Pairs given train and dev splits, as a study's seen pairs would be; one without English.
SEEN_PAIRS = ("en-ko", "en-ja", "de-zh")
#: An unseen pair whose languages both occur in seen pairs (the study's zero-shot case).
UNSEEN_PAIR = "ja-ko"
SEED = 0
SEEN_SIZES = {"train": 6, "dev": 3, "test": 6}
UNSEEN_SIZES = {"test": 6}
SPLITS = ("train", "dev", "test")


def _generate(
    root: Path,
    pair: str,
    sizes: dict[str, int],
    splits: tuple[str, ...],
    settings: SynthesisSettings | None = None,
    seed: int = SEED,
) -> dict[str, Path]:
    """Synthesize `splits` of `pair` under `root/<pair>/` the way the data rule lays them out."""
    manifests = {}
    for split in splits:
        manifest = root / pair / f"{split}.jsonl"
        count = synthesize_split(
            pair, split, sizes, manifest, root / pair / f"{split}_audio", seed, settings=settings
        )
        assert count == sizes[split]
        manifests[split] = manifest
    return manifests


def _rows(manifest: Path) -> list[dict]:
    return [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]


def _texts(manifest: Path) -> list[str]:
    return [row["text"] for row in _rows(manifest)]


def _wav_bytes(manifest: Path) -> dict[str, bytes]:
    """Every WAV of a manifest by its relative audio path."""
    return {row["audio"]: (manifest.parent / row["audio"]).read_bytes() for row in _rows(manifest)}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """Manifests of every pair: a test split for all 28, plus train and dev for SEEN_PAIRS."""
    root = tmp_path_factory.mktemp("corpus")
    manifests = {}
    for pair in PAIRS:
        if pair in SEEN_PAIRS:
            manifests[pair] = _generate(root, pair, SEEN_SIZES, SPLITS)
        else:
            manifests[pair] = _generate(root, pair, UNSEEN_SIZES, ("test",))
    return manifests


@pytest.fixture(scope="module")
def all_rows(corpus: dict[str, dict[str, Path]]) -> list[dict]:
    return [row for splits in corpus.values() for path in splits.values() for row in _rows(path)]


# --- audio and manifest ------------------------------------------------------------------


def test_every_pair_and_split_is_generated(corpus: dict[str, dict[str, Path]]) -> None:
    assert len(PAIRS) == 28 and set(corpus) == set(PAIRS)
    for pair, splits in corpus.items():
        expected = SEEN_SIZES if pair in SEEN_PAIRS else UNSEEN_SIZES
        assert {split: len(_rows(path)) for split, path in splits.items()} == expected


def test_wavs_are_16khz_mono_and_match_the_manifest_duration(corpus: dict[str, dict[str, Path]]) -> None:
    for splits in corpus.values():
        for manifest in splits.values():
            for row in _rows(manifest):
                path = manifest.parent / row["audio"]
                info = soundfile.info(str(path))
                assert (info.samplerate, info.channels, info.subtype) == (SAMPLE_RATE, 1, "PCM_16"), path
                samples, rate = soundfile.read(str(path), dtype="float32")
                assert rate == SAMPLE_RATE and samples.ndim == 1
                assert abs(samples.size / SAMPLE_RATE - row["duration"]) <= 0.001, path
                assert np.max(np.abs(samples)) > 0.05, f"{path} is silent"


def test_read_manifest_accepts_generated_manifests(corpus: dict[str, dict[str, Path]]) -> None:
    for pair, splits in corpus.items():
        for manifest in splits.values():
            rows = _rows(manifest)
            utterances = read_manifest(manifest)
            assert [u.id for u in utterances] == [row["id"] for row in rows]
            for utterance, row in zip(utterances, rows, strict=True):
                assert utterance.audio.is_file()
                assert utterance.pair == pair
                assert utterance.tokens == tuple(tuple(token) for token in row["tokens"])
                assert utterance.cs_level in CS_LEVELS
    # One full load per pair is enough to show the paths resolve to decodable audio.
    for splits in corpus.values():
        first = read_manifest(splits["test"])[0]
        assert abs(first.load_audio().size / SAMPLE_RATE - first.duration) <= 0.001


# --- tags and text -----------------------------------------------------------------------


def test_token_tags_match_the_script_of_the_token(all_rows: list[dict]) -> None:
    for row in all_rows:
        for word, lang in row["tokens"]:
            script = SUPPORTED_LANGUAGES[lang]["script"]
            assert word and all(char_script(ch) == script for ch in word), (row["id"], word, lang)


def test_code_switched_utterances_mix_exactly_the_pair(all_rows: list[dict]) -> None:
    for row in all_rows:
        tags = {lang for _, lang in row["tokens"]}
        assert tags == set(pair_languages(row["pair"])), (row["id"], row["text"])


def test_all_code_switching_levels_occur(corpus: dict[str, dict[str, Path]], all_rows: list[dict]) -> None:
    assert {row["cs_level"] for row in all_rows} == set(CS_LEVELS)
    # Levels cycle through the candidate pool, so even six utterances cover more than one.
    for pair, splits in corpus.items():
        assert len({row["cs_level"] for row in _rows(splits["test"])}) >= 2, pair


def test_text_is_the_rendered_tokens(all_rows: list[dict]) -> None:
    for row in all_rows:
        tokens = [Token(word, lang) for word, lang in row["tokens"]]
        assert row["text"] == render_text(tokens)
        assert row["text"] == row["text"].strip() and "  " not in row["text"]


def test_switch_structure_follows_the_level(all_rows: list[dict]) -> None:
    """Word/phrase: one embedded run inside a matrix template; sentence: two monolingual runs."""
    for row in all_rows:
        langs = [lang for _, lang in row["tokens"]]
        runs = [lang for index, lang in enumerate(langs) if not index or langs[index - 1] != lang]
        matrix = row["matrix_lang"]
        (embedded,) = set(pair_languages(row["pair"])) - {matrix}
        if row["cs_level"] == "sentence":
            assert sorted(runs) == sorted((matrix, embedded)), row["id"]
            assert sorted(t.split("_")[0] for t in row["templates"]) == sorted(runs), row["id"]
        else:
            assert runs.count(embedded) == 1, (row["id"], row["text"])
            assert [t.split("_")[0] for t in row["templates"]] == [matrix], row["id"]
            embedded_words = langs.count(embedded)
            assert embedded_words >= (2 if row["cs_level"] == "phrase" and embedded == "en" else 1)


def test_matrix_language_rules(all_rows: list[dict]) -> None:
    by_pair: dict[str, set[str]] = {}
    for row in all_rows:
        first, second = pair_languages(row["pair"])
        assert row["matrix_lang"] in (first, second)
        if "en" in (first, second):
            assert row["matrix_lang"] != "en", (row["id"], "English is always embedded")
        by_pair.setdefault(row["pair"], set()).add(row["matrix_lang"])
    without_english = {pair: langs for pair, langs in by_pair.items() if "en" not in pair}
    # Pairs without English alternate by a fair coin per utterance: a pair with 6 utterances
    # shows a single matrix language with probability 1/32: about 0.7 of the 21 pairs do.
    single = [pair for pair, langs in without_english.items() if len(langs) == 1]
    assert len(single) <= 4, single
    assert len(by_pair["de-zh"]) == 2  # 15 utterances: about 1 in 16000 to fail by chance
    assert {lang for langs in without_english.values() for lang in langs} == set(LANGS) - {"en"}


def test_matrix_language_alternates_evenly_without_english() -> None:
    rng = random.Random(1)
    draws = [matrix_language("ja-ko", rng) for _ in range(2000)]
    assert set(draws) == {("ja", "ko"), ("ko", "ja")}
    assert 0.45 < draws.count(("ja", "ko")) / len(draws) < 0.55
    assert {matrix_language("en-hi", rng) for _ in range(50)} == {("hi", "en")}


def test_every_voice_speaks_its_script() -> None:
    """A voice that cannot read its text returns silence, which the tags would not reveal."""
    engine = get_engine()
    lexicon = load_lexicon()
    for lang in LANGS:
        sentence = monolingual_sentence(lexicon, lang, random.Random(stable_seed("voice", lang)))
        samples = _trim(engine.synthesize(sentence.text, Voice(SUPPORTED_LANGUAGES[lang]["voice"])))
        seconds = samples.size / engine.sample_rate
        assert seconds > 0.15 * len(sentence.tokens), (lang, sentence.text, seconds)


def test_every_voice_variant_is_accepted() -> None:
    """Each language's voice name works with every speaker variant the generator draws.

    eSpeak selects voices by file name, so a language code such as 'fr-fr' (file 'fr') must
    be resolved by the engine; a refused name would fail only when a pair first uses it.
    """
    engine = get_engine()
    for lang in LANGS:
        for variant in VOICE_VARIANTS:
            voice = Voice(SUPPORTED_LANGUAGES[lang]["voice"] + variant)
            assert engine.synthesize("a", voice).size > 0, voice


def test_engine_reset_makes_synthesis_independent_of_history() -> None:
    """libespeak-ng keeps state between calls; after a reset the same input gives the same samples."""
    engine = get_engine()
    assert engine.resets_state
    voice = Voice(SUPPORTED_LANGUAGES["ko"]["voice"] + "+f3", 170, 40)
    engine.reset()
    first = engine.synthesize("내일 회의 에서 만나요", voice)
    engine.synthesize("we talked about the budget yesterday", Voice("en-us+m3", 190, 60))
    # eSpeak seeds its breath noise ('+f3') from the clock in seconds unless told otherwise.
    time.sleep(1.05)
    engine.reset()
    assert np.array_equal(engine.synthesize("내일 회의 에서 만나요", voice), first)


# --- splits ------------------------------------------------------------------------------


def test_splits_of_a_pair_are_disjoint(corpus: dict[str, dict[str, Path]]) -> None:
    for pair in SEEN_PAIRS:
        texts = {split: _texts(corpus[pair][split]) for split in SPLITS}
        for split, items in texts.items():
            assert len(set(items)) == len(items), (pair, split, "repeats a sentence")
        for first, second in combinations(SPLITS, 2):
            assert not set(texts[first]) & set(texts[second]), (pair, first, second)


def test_unseen_pair_test_sentences_are_not_in_seen_training_data(
    corpus: dict[str, dict[str, Path]],
) -> None:
    trained = {text for pair in SEEN_PAIRS for text in _texts(corpus[pair]["train"])}
    assert not set(_texts(corpus[UNSEEN_PAIR]["test"])) & trained
    for pair in PAIRS:
        if pair not in SEEN_PAIRS:
            assert not set(_texts(corpus[pair]["test"])) & trained, pair


def test_test_set_does_not_change_when_the_training_set_grows(
    corpus: dict[str, dict[str, Path]], tmp_path: Path
) -> None:
    # Seen pairs were made with train=6; regenerating with a larger (or no) train split
    # must give the very same test files.
    bigger = {"train": 40, "dev": 3, "test": 6}
    regenerated = _generate(tmp_path, "en-ko", bigger, ("test",))["test"]
    assert regenerated.read_bytes() == corpus["en-ko"]["test"].read_bytes()
    assert _wav_bytes(regenerated) == _wav_bytes(corpus["en-ko"]["test"])
    # Unseen pairs are made with a test split only: same sentences as with a training set.
    for sizes in ({"test": 6}, {"train": 500, "dev": 50, "test": 6}):
        pool = sentence_pool("de-zh", sizes, "test", SEED, CS_LEVELS)
        assert [s.text for s in pool[:6]] == _texts(corpus["de-zh"]["test"])


# --- reproducibility ---------------------------------------------------------------------


def test_generation_is_byte_identical_when_repeated(
    corpus: dict[str, dict[str, Path]], tmp_path: Path
) -> None:
    for pair, split in ((UNSEEN_PAIR, "test"), ("de-zh", "train")):
        sizes = SEEN_SIZES if pair in SEEN_PAIRS else UNSEEN_SIZES
        again = _generate(tmp_path, pair, sizes, (split,))[split]
        assert again.read_bytes() == corpus[pair][split].read_bytes()
        assert _wav_bytes(again) == _wav_bytes(corpus[pair][split])


def test_generation_is_byte_identical_in_another_process(
    corpus: dict[str, dict[str, Path]], tmp_path: Path
) -> None:
    """A fresh interpreter with another hash seed must reproduce the files exactly."""
    code = (
        "import sys; from pathlib import Path; "
        "from csbench.data.synthesize import synthesize_split; "
        "root = Path(sys.argv[1]); "
        f"synthesize_split('en-ja', 'dev', {SEEN_SIZES!r}, root / 'dev.jsonl', root / 'dev_audio', {SEED})"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "TQDM_DISABLE": "1"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, cwd=REPO, env=env)
    assert (tmp_path / "dev.jsonl").read_bytes() == corpus["en-ja"]["dev"].read_bytes()
    assert _wav_bytes(tmp_path / "dev.jsonl") == _wav_bytes(corpus["en-ja"]["dev"])


def test_another_seed_gives_other_sentences(corpus: dict[str, dict[str, Path]]) -> None:
    other = [s.text for s in sentence_pool("en-ko", SEEN_SIZES, "test", SEED + 1, CS_LEVELS)[:6]]
    assert other != _texts(corpus["en-ko"]["test"])


# --- options -----------------------------------------------------------------------------


def test_noise_changes_the_audio_but_not_the_text_or_speakers(
    corpus: dict[str, dict[str, Path]], tmp_path: Path
) -> None:
    snr_db = 10.0
    noisy = _generate(tmp_path, "en-ko", SEEN_SIZES, ("test",), SynthesisSettings(noise_snr_db=snr_db))
    clean_rows, noisy_rows = _rows(corpus["en-ko"]["test"]), _rows(noisy["test"])
    for clean_row, noisy_row in zip(clean_rows, noisy_rows, strict=True):
        for field in ("text", "tokens", "speaker", "duration", "cs_level", "matrix_lang"):
            assert clean_row[field] == noisy_row[field], field
        clean, _ = soundfile.read(str(corpus["en-ko"]["test"].parent / clean_row["audio"]), dtype="float64")
        loud, _ = soundfile.read(str(noisy["test"].parent / noisy_row["audio"]), dtype="float64")
        assert not np.array_equal(clean, loud)
        # Noisy = gain * clean + noise, the gain coming from peak normalization.
        gain = float(clean @ loud) / float(clean @ clean)
        residual = loud - gain * clean
        measured = 10 * math.log10(gain**2 * float(np.mean(clean**2)) / float(np.mean(residual**2)))
        assert abs(measured - snr_db) < 1.0, (noisy_row["id"], measured)


def test_utterances_longer_than_the_limit_are_skipped(tmp_path: Path) -> None:
    sizes = {"test": 6}
    limit = 3.5
    manifest = _generate(tmp_path, "en-ko", sizes, ("test",), SynthesisSettings(max_duration_s=limit))["test"]
    rows = _rows(manifest)
    assert len(rows) == 6 and all(row["duration"] <= limit for row in rows)
    candidates = [s.text for s in sentence_pool("en-ko", sizes, "test", SEED, CS_LEVELS)]
    texts = [row["text"] for row in rows]
    # The kept sentences are candidates in pool order, and some candidate was passed over.
    positions = [candidates.index(text) for text in texts]
    assert positions == sorted(positions) and positions[-1] >= len(rows)
    assert len(list((manifest.parent / "test_audio").iterdir())) == len(rows)


def test_a_limit_no_sentence_fits_fails_without_leaving_output(tmp_path: Path) -> None:
    manifest, audio = tmp_path / "test.jsonl", tmp_path / "test_audio"
    with pytest.raises(ValueError, match="max_duration_s"):
        synthesize_split(
            "en-ko",
            "test",
            {"test": 2},
            manifest,
            audio,
            SEED,
            settings=SynthesisSettings(max_duration_s=0.3),
        )
    assert not manifest.exists() and not audio.exists()
    assert not list(tmp_path.iterdir()), "temporary files were left behind"


# --- manifest errors ---------------------------------------------------------------------


def _write_manifest(path: Path, rows: list[dict | str]) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _row(utterance_id: str, audio: str = "a.wav", text: str = "hello") -> dict:
    return {"id": utterance_id, "audio": audio, "text": text, "duration": 1.0}


def test_missing_audio_is_named_when_loaded(tmp_path: Path) -> None:
    manifest = _write_manifest(tmp_path / "m.jsonl", [_row("u1", audio="gone/missing.wav")])
    (utterance,) = read_manifest(manifest)
    with pytest.raises(ManifestError, match=r"missing\.wav.*missing"):
        utterance.load_audio()


def test_corrupt_audio_is_named(tmp_path: Path) -> None:
    (tmp_path / "broken.wav").write_bytes(np.random.default_rng(0).bytes(4000))
    manifest = _write_manifest(tmp_path / "m.jsonl", [_row("u1", audio="broken.wav")])
    (utterance,) = read_manifest(manifest)
    with pytest.raises(ManifestError, match=r"broken\.wav.*cannot be decoded"):
        utterance.load_audio()


def test_empty_text_names_file_line_and_field(tmp_path: Path) -> None:
    manifest = _write_manifest(tmp_path / "m.jsonl", [_row("u1"), _row("u2", text="  ")])
    with pytest.raises(ManifestError, match=rf"{manifest.name}:2: field 'text'"):
        read_manifest(manifest)


def test_duplicate_ids_name_line_and_field(tmp_path: Path) -> None:
    manifest = _write_manifest(tmp_path / "m.jsonl", [_row("u1"), _row("u2"), _row("u1")])
    with pytest.raises(ManifestError, match=rf"{manifest.name}:3: field 'id'.*'u1'"):
        read_manifest(manifest)


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    manifest = _write_manifest(tmp_path / "m.jsonl", [_row("u1"), '{"id": "u2", "audio": '])
    with pytest.raises(ManifestError, match=rf"{manifest.name}:2: not valid JSON"):
        read_manifest(manifest)


def test_missing_field_is_named(tmp_path: Path) -> None:
    manifest = _write_manifest(tmp_path / "m.jsonl", [{"id": "u1", "audio": "a.wav", "text": "hi"}])
    with pytest.raises(ManifestError, match=rf"{manifest.name}:1: field 'duration'"):
        read_manifest(manifest)


def test_other_sample_rates_are_resampled_to_16khz(tmp_path: Path) -> None:
    rate, seconds, frequency = 22_050, 0.5, 440.0
    time = np.arange(int(rate * seconds)) / rate
    tone = 0.5 * np.sin(2 * np.pi * frequency * time)
    soundfile.write(tmp_path / "tone.wav", np.stack([tone, tone], axis=1), rate, subtype="PCM_16")
    manifest = _write_manifest(tmp_path / "m.jsonl", [_row("u1", audio="tone.wav")])
    (utterance,) = read_manifest(manifest)
    samples = utterance.load_audio()
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(samples.size - round(seconds * SAMPLE_RATE)) <= 1
    spectrum = np.abs(np.fft.rfft(samples))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / samples.size
    assert abs(peak_hz - frequency) < 4.0
    assert load_audio(tmp_path / "tone.wav").size == samples.size
