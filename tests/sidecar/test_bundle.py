"""Judge bundle manifest and loading: a good bundle loads; every kind of mismatch is refused clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sidecar.bundle import (
    FORMAT_VERSION,
    INPUT_NAMES,
    MANIFEST_FILE,
    BundleError,
    BundleManifest,
    ModelFiles,
    TensorRTProfile,
    TensorRTSettings,
    load_bundle,
    sha256_file,
)
from sidecar.domain import DIMENSIONS

FILES = {
    "judge.int8.onnx": b"int8 model bytes \x00\x01\x02",
    "tokenizer.json": b'{"version": "1.0"}',
    "REPORT.md": b"# report\n",
    "plots/calibration.png": b"\x89PNG fake plot",
}


def _write_bundle(root: Path, **overrides: object) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, data in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    manifest = BundleManifest(
        name="theraguard-judge",
        version="test",
        created="2025-01-01T00:00:00Z",
        max_length=256,
        models=ModelFiles(cpu="judge.int8.onnx"),
        tokenizer="tokenizer.json",
        tensorrt=TensorRTSettings(
            fp16=True,
            profile=TensorRTProfile(min=(1, 8), opt=(8, 128), max=(64, 256)),
            engine_cache_dir_hint="/var/cache/theraguard/trt",
        ),
        files={rel: sha256_file(root / rel) for rel in FILES},
        recommended_thresholds={"Safety": 2.6},
    )
    data = manifest.to_dict()
    data.update(overrides)
    (root / MANIFEST_FILE).write_text(json.dumps(data), encoding="utf-8")
    return root


def test_good_bundle_loads_and_round_trips(tmp_path: Path) -> None:
    bundle = load_bundle(_write_bundle(tmp_path / "b"))
    assert bundle.manifest.dimensions == DIMENSIONS
    assert bundle.manifest.inputs == INPUT_NAMES
    assert bundle.model_path("cpu") == tmp_path / "b" / "judge.int8.onnx"
    assert bundle.tokenizer_path == tmp_path / "b" / "tokenizer.json"
    assert bundle.max_length == 256
    again = BundleManifest.from_json(bundle.manifest.to_json())
    assert again == bundle.manifest
    written = json.loads(bundle.manifest.to_json())
    assert written["format"] == "theraguard.judge-bundle"
    assert written["format_version"] == FORMAT_VERSION
    assert written["score_scale"] == [1, 5]
    assert written["tensorrt"]["profile"]["max"] == [64, 256]
    assert written["models"] == {"cpu": "judge.int8.onnx", "gpu": None, "fp32": None}


def test_missing_gpu_model_says_how_to_build_it(tmp_path: Path) -> None:
    bundle = load_bundle(_write_bundle(tmp_path / "b"))
    with pytest.raises(BundleError, match=r"no gpu model.*python -m export fp16"):
        bundle.model_path("gpu")


def test_corrupted_byte_names_file_and_both_hashes(tmp_path: Path) -> None:
    root = _write_bundle(tmp_path / "b")
    model = root / "judge.int8.onnx"
    expected = sha256_file(model)
    data = bytearray(model.read_bytes())
    data[3] ^= 0x01
    model.write_bytes(bytes(data))
    actual = sha256_file(model)
    with pytest.raises(BundleError) as err:
        load_bundle(root)
    message = str(err.value)
    assert "judge.int8.onnx" in message
    assert expected in message and actual in message
    assert "python -m export bundle" in message


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda r: (r / "tokenizer.json").unlink(), r"tokenizer\.json is missing.*sha256"),
        (lambda r: (r / "plots/calibration.png").unlink(), r"plots/calibration\.png is missing"),
        (lambda r: (r / MANIFEST_FILE).unlink(), r"manifest\.json is missing"),
        (lambda r: (r / MANIFEST_FILE).write_text("{not json"), r"not valid JSON"),
    ],
    ids=["missing-tokenizer", "missing-plot", "missing-manifest", "manifest-not-json"],
)
def test_missing_or_broken_files_are_refused(tmp_path: Path, mutate, pattern: str) -> None:
    root = _write_bundle(tmp_path / "b")
    mutate(root)
    with pytest.raises(BundleError, match=pattern):
        load_bundle(root)


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        ({"dimensions": list(reversed(DIMENSIONS))}, r"dimension order must be \['Guidance'"),
        ({"dimensions": list(DIMENSIONS[:6])}, r"dimension order must be"),
        ({"format_version": 2}, r"unsupported format_version 2 .*reads version 1"),
        ({"format_version": "1"}, r"unsupported format_version '1'"),
        ({"format": "something-else"}, r"not a TheraGuard judge bundle"),
        ({"truncation": "head"}, r"truncation must be 'reply_whole_context_oldest_first'"),
        ({"inputs": ["input_ids", "attention_mask"]}, r"inputs must be"),
        ({"outputs": {"logits": "x"}}, r"outputs must be \['scores', 'probs'\]"),
        ({"score_scale": [0, 10]}, r"score_scale must be \[1, 5\]"),
        ({"max_length": 8}, r"max_length must be an integer >= 16"),
        ({"recommended_thresholds": {"Safty": 2.0}}, r"unknown dimension 'Safty'"),
        ({"recommended_thresholds": {"Safety": 7}}, r"threshold for Safety must be in \[1, 5\] \(got: 7\)"),
        ({"tokenizer": "vocab.txt"}, r"tokenizer names 'vocab.txt', which has no sha256"),
        ({"files": {"../x": "0" * 64}}, r"must be a relative path inside the bundle"),
    ],
    ids=[
        "dims-reversed", "dims-six", "version-2", "version-string", "foreign-format", "truncation",
        "inputs", "outputs", "scale", "max-length", "threshold-unknown-dim", "threshold-range",
        "unhashed-tokenizer", "path-escape",
    ],
)  # fmt: skip
def test_bad_manifest_fields_are_refused(tmp_path: Path, overrides: dict, pattern: str) -> None:
    root = _write_bundle(tmp_path / "b", **overrides)
    with pytest.raises(BundleError, match=pattern) as err:
        load_bundle(root)
    assert str(root / MANIFEST_FILE) in str(err.value)


def test_missing_field_is_named(tmp_path: Path) -> None:
    root = _write_bundle(tmp_path / "b")
    data = json.loads((root / MANIFEST_FILE).read_text())
    del data["max_length"]
    (root / MANIFEST_FILE).write_text(json.dumps(data))
    with pytest.raises(BundleError, match=r"missing field 'max_length'"):
        load_bundle(root)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"does not exist"):
        load_bundle(tmp_path / "nowhere")
