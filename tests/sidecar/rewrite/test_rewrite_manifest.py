"""Loading the rewriter model directory: manifest format and every file's sha256."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sidecar.rewrite.manifest import MANIFEST_FILE, RewriterModelError, load_rewriter_model


@pytest.fixture
def model_copy(rewriter_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "rewriter"
    shutil.copytree(rewriter_dir, copy)
    return copy


def _edit_manifest(root: Path, **changes: object) -> None:
    path = root / MANIFEST_FILE
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def _drop(root: Path, key: str) -> None:
    path = root / MANIFEST_FILE
    data = json.loads(path.read_text())
    data.pop(key)
    path.write_text(json.dumps(data))


def test_loads_the_built_model(rewriter_dir: Path) -> None:
    model = load_rewriter_model(rewriter_dir)
    assert model.name == "SmolLM2-135M-Instruct"
    assert model.directory == rewriter_dir


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda d: (d / "tokenizer.json").write_text("{}"),
            r"tokenizer.json does not match .* expected sha256",
        ),
        (lambda d: (d / "model.onnx.data").unlink(), r"model.onnx.data is missing"),
        (lambda d: (d / MANIFEST_FILE).unlink(), r"rewriter_manifest.json is missing"),
        (lambda d: (d / MANIFEST_FILE).write_text("{not json"), r"not valid JSON"),
        (lambda d: _edit_manifest(d, format_version=9), r"format_version 9 is not supported"),
        (lambda d: _edit_manifest(d, precision="int3"), r"precision must be one of"),
        (
            lambda d: _edit_manifest(d, files={"../x": "0" * 64, "genai_config.json": "0" * 64}),
            r"relative path",
        ),
        (lambda d: _drop(d, "files"), r"missing field 'files'"),
    ],
    ids=[
        "changed-file",
        "missing-file",
        "no-manifest",
        "bad-json",
        "future-format",
        "bad-precision",
        "escaping-path",
        "missing-field",
    ],
)
def test_refuses_damaged_directory(model_copy: Path, damage, message: str) -> None:
    damage(model_copy)
    with pytest.raises(RewriterModelError, match=message):
        load_rewriter_model(model_copy)


def test_missing_directory_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(RewriterModelError, match="make rewriter"):
        load_rewriter_model(tmp_path / "nope")
