"""Config validation: the schema via Snakemake, and the semantic checks, as one-line errors."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest
import yaml
from workflow_utils import job_counts, run_snakemake

from csbench.config import ConfigError, check_config
from csbench.languages import all_combinations, canonical_combination, canonical_pair

REPO = Path(__file__).resolve().parents[1]
DEFAULT = yaml.safe_load((REPO / "config.yaml").read_text())


def _with(**changes) -> dict:
    config = copy.deepcopy(DEFAULT)
    config.update(changes)
    return config


def test_default_config_is_valid() -> None:
    from csbench.merge import MERGE_METHODS

    check_config(DEFAULT, merge_methods=list(MERGE_METHODS))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"languages": ["en", "ko", "xx"]}, "languages: 'xx' is not a Whisper language code"),
        ({"languages": ["en", "ko", "ja", "de", "sv"]}, "'sv' cannot be synthesized offline"),
        ({"unseen_pairs": ["ko-ja", "en-ko"]}, "seen_pairs and unseen_pairs both list 'en-ko'"),
        ({"seen_pairs": ["ko-en", "en-ko"]}, "repeats pair 'en-ko'"),
        ({"seen_pairs": ["ko-en", "ko-fr"]}, "uses 'fr', which is not in languages"),
        ({"seen_pairs": ["ko-en"]}, "needs at least two seen_pairs"),
        ({"seen_pairs": ["ko-ko", "en-ja"]}, "joins a language with itself"),
    ],
)
def test_semantic_errors_are_one_line(changes, message) -> None:
    with pytest.raises(ConfigError) as error:
        check_config(_with(**changes))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_unknown_merge_method() -> None:
    config = copy.deepcopy(DEFAULT)
    config["merge"]["methods"] = ["ties", "soup_of_the_day"]
    with pytest.raises(ConfigError, match="'soup_of_the_day' is not a merge method"):
        check_config(config, merge_methods=["ties"])


def test_pairs_and_combinations_are_order_free() -> None:
    assert canonical_pair("ko-en") == canonical_pair("en-ko") == "en-ko"
    assert canonical_combination(["ko-en", "de-en", "ja-en"]) == "de-en+en-ja+en-ko"
    assert all_combinations(["ko-en", "ja-en", "de-en"]) == [
        "de-en+en-ja", "de-en+en-ko", "en-ja+en-ko", "de-en+en-ja+en-ko"
    ]


def _dry_run(tmp_path: Path, config: dict) -> subprocess.CompletedProcess:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return run_snakemake(tmp_path, path, "-n", "--quiet", "rules", timeout=300)


def test_snakemake_rejects_unknown_key(tmp_path) -> None:
    config = _with(sead=1)
    result = _dry_run(tmp_path, config)
    assert result.returncode != 0
    assert "sead" in result.stdout + result.stderr


def test_snakemake_reports_semantic_error_in_one_line(tmp_path) -> None:
    result = _dry_run(tmp_path, _with(unseen_pairs=["ko-ja", "ko-en"]))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "csbench config error: seen_pairs and unseen_pairs both list 'en-ko'" in output
    assert not (tmp_path / "results").exists()


def test_snakemake_rejects_bad_merge_hyperparameter(tmp_path) -> None:
    config = copy.deepcopy(DEFAULT)
    config["merge"]["hyperparameters"]["ties"] = {"density": 0.5, "beta": 0.1}
    result = _dry_run(tmp_path, config)
    assert result.returncode != 0
    assert "beta" in result.stdout + result.stderr


def test_all_methods_preset_adds_every_merge_method(tmp_path) -> None:
    """configs/all-methods.yaml over the default: 9 methods x 2 modes x 4 combinations."""
    from csbench.merge import MERGE_METHODS

    preset = yaml.safe_load((REPO / "configs/all-methods.yaml").read_text())
    assert sorted(preset["merge"]["methods"]) == sorted(MERGE_METHODS)
    # `--configfile config.yaml preset.yaml`: later files are merged over earlier ones (in the
    # repository, Snakefile's `configfile: "config.yaml"` plays the first file's part).
    result = run_snakemake(tmp_path, REPO / "config.yaml", str(REPO / "configs/all-methods.yaml"), "-n", "--quiet",
                           "rules")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout + result.stderr)
    assert counts["merge_recipe"] == 72 and counts["evaluate"] == 1 + 6 + 72 + 4
    assert counts["finetune"] == 6 and counts["train_dg"] == 7 and counts["select_dg"] == 4


def test_tight_preset_changes_only_the_test_size(tmp_path) -> None:
    """configs/tight.yaml over the default: the same DAG, only the test sets larger."""
    from snakemake.utils import update_config

    from csbench.merge import MERGE_METHODS

    merged = copy.deepcopy(DEFAULT)
    update_config(merged, yaml.safe_load((REPO / "configs/tight.yaml").read_text()))
    check_config(merged, merge_methods=list(MERGE_METHODS))
    assert merged["data"]["sizes"]["test"] > DEFAULT["data"]["sizes"]["test"]
    merged["data"]["sizes"]["test"] = DEFAULT["data"]["sizes"]["test"]
    assert merged == DEFAULT
    result = run_snakemake(tmp_path, REPO / "config.yaml", str(REPO / "configs/tight.yaml"), "-n", "--quiet",
                           "rules")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout + result.stderr)
    assert counts["evaluate"] == 35 and counts["finetune"] == 6 and counts["synthesize_pair"] == 11


def test_default_dag_has_every_job(tmp_path) -> None:
    result = _dry_run(tmp_path, DEFAULT)
    assert result.returncode == 0, result.stderr[-3000:]
    # 3 seen pairs: 4 combinations x 3 methods (the reference study's) x 2 modes = 24 merges;
    # 4 DG models on all three pairs (ERM, and two grid candidates each for Fish, Fishr and
    # GGA: 7 trainings, 4 selections); models = 1 + 6 + 24 + 4 = 35, one evaluation job each
    # (5 pairs per job).
    assert DEFAULT["merge"]["methods"] == ["task_arithmetic", "ties", "dare_ties"]
    counts = job_counts(result.stdout + result.stderr)
    assert counts["evaluate"] == 35
    assert counts["merge_recipe"] == 24
    assert counts["finetune"] == 6
    assert counts["train_dg"] == 7 and counts["select_dg"] == 4
    # seen pairs: train, dev (merge and DG grid searches) and test; unseen pairs: test only.
    assert counts["synthesize_pair"] == 3 * 3 + 2
    assert counts["synthesize_monolingual"] == 4 * 2
    assert counts["check_leakage"] == 2
    assert counts["analyze_task_vectors"] == 2


def _schema_defaults(section: str) -> dict:
    """`default:` of every key of one top-level config section in the schema."""
    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    properties = schema["properties"][section]["properties"]
    return {key: spec["default"] for key, spec in properties.items() if "default" in spec}


def test_library_defaults_equal_the_schema_defaults() -> None:
    """The schema is the one home of every default; where a typed setting keeps a default of
    its own (for library users), it must be the schema's, so the two can never disagree."""
    import dataclasses

    from csbench.data.synthesize import SynthesisSettings
    from csbench.evaluate.run import DecodeSettings
    from csbench.models.tiny import TinyWhisperSpec
    from csbench.train.finetune import FinetuneJob, LoraSettings
    from csbench.train.loop import TrainSettings

    def field_defaults(cls) -> dict:
        return {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}

    train = field_defaults(TrainSettings)
    for section in ("finetune", "dg"):
        schema = _schema_defaults(section)
        assert {key: train[key] for key in ("warmup_steps", "checkpoint_every")} == {
            key: schema[key] for key in ("warmup_steps", "checkpoint_every")
        }
    finetune = _schema_defaults("finetune")
    job = field_defaults(FinetuneJob)
    # the FinetuneJob fields that are not finetune keys: base pretraining's corruption and CTC
    for key in ("token_corruption", "ctc_weight", "ctc_anneal_steps"):
        assert job.pop(key) == _schema_defaults("local_base")[key]
    assert job == {key: finetune[key] for key in job}
    lora_schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    lora_schema = lora_schema["properties"]["finetune"]["properties"]["lora"]["properties"]
    lora = LoraSettings()
    assert (lora.rank, lora.alpha, list(lora.target_modules)) == (
        lora_schema["rank"]["default"], lora_schema["alpha"]["default"], lora_schema["target_modules"]["default"]
    )
    evaluate = _schema_defaults("evaluate")
    decode = DecodeSettings()
    assert (decode.language_mode, decode.batch_size, decode.max_new_tokens, decode.precision) == (
        evaluate["language"], evaluate["batch_size"], evaluate["max_new_tokens"], evaluate["precision"]
    )
    local_base = _schema_defaults("local_base")
    spec = field_defaults(TinyWhisperSpec)
    assert {key: spec[key] for key in local_base if key in spec} == {key: local_base[key] for key in local_base if key in spec}
    assert len([key for key in local_base if key in spec]) == 7  # the shape, window and frame rate
    data = _schema_defaults("data")
    synthesis = field_defaults(SynthesisSettings)
    assert (synthesis["monolingual_sentences"], synthesis["noise_snr_db"]) == (
        data["monolingual_sentences"], data["noise_snr_db"]
    )


def test_a_packaged_base_that_is_not_installed_names_the_pip_command(monkeypatch) -> None:
    import csbench.hub
    from csbench.checks import check_study_config

    monkeypatch.setitem(csbench.hub.PACKAGED_MODELS, "whisper-nothing", ("csbench_no_such_wheel",))
    monkeypatch.setitem(csbench.hub.PACKAGED_INSTALL, "whisper-nothing", "pip install no-such-wheel")
    config = _with(base_model="whisper-nothing")
    with pytest.raises(ConfigError, match=r"base_model: 'whisper-nothing' needs the PyPI package "
                                          r"'csbench_no_such_wheel', which is not installed: pip install no-such-wheel"):
        check_study_config(config)
