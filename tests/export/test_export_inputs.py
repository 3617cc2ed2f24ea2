"""Bad inputs to the export stages stop with one clear message naming the file and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from export.cli import main
from export.dataset import read_corpus
from export.errors import CorpusError, ExportError

GOOD = {
    "id": "r1",
    "context": [{"role": "user", "text": "I feel low."}],
    "reply": "I'm sorry you feel low. What has been weighing on you?",
    "scores": {d: 4 for d in ("Guidance", "Informativeness", "Relevance", "Safety", "Empathy", "Helpfulness", "Understanding")},
    "split": "train",
}


def _line(**changes) -> str:
    row = {**GOOD, **changes}
    return json.dumps({k: v for k, v in row.items() if v is not None})


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        ("", r"corpus file .* is empty \(no rows\); build one with `python -m export corpus`"),
        ("\n\n", r"is empty"),
        ("{oops\n", r"c\.jsonl:1: not valid JSON"),
        (_line(reply=None) + "\n", r"c\.jsonl:1: missing field 'reply'"),
        (_line(split="test") + "\n", r"c\.jsonl:1: 'split' must be one of train, heldout"),
        (_line(context=[{"role": "bot", "text": "x"}]) + "\n", r"c\.jsonl:1: context\[0\] must be"),
        (_line(scores={**GOOD["scores"], "Safety": 6}) + "\n", r"score for Safety must be an integer in \[1, 5\] \(got: 6\)"),
        (_line(scores={**GOOD["scores"], "Warmth": 3}) + "\n", r"unknown dimension 'Warmth'"),
        (_line() + "\n" + _line() + "\n", r"c\.jsonl:2: duplicate id 'r1'"),
    ],
    ids=["empty", "blank-lines", "malformed", "no-reply", "bad-split", "bad-role", "score-6", "unknown-dim", "dup-id"],
)
def test_bad_corpus_files(tmp_path: Path, content: str, pattern: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(content)
    with pytest.raises(CorpusError, match=pattern):
        read_corpus(path)


def test_missing_corpus(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"does not exist; build one with `python -m export corpus`"):
        read_corpus(tmp_path / "none.jsonl")


def test_corpus_without_train_rows(tmp_path: Path) -> None:
    from export.distill import DistillConfig, distill

    path = tmp_path / "c.jsonl"
    path.write_text(_line(split="heldout") + "\n")
    with pytest.raises(ExportError, match=r"has no 'train' rows"):
        distill(path, tmp_path / "s", DistillConfig(show_progress=False))


@pytest.mark.parametrize(
    ("field", "value", "pattern"),
    [
        ("max_length", 8, r"max_length must be in \[16, 512\] \(got: 8\)"),
        ("epochs", 0, r"epochs must be >= 1"),
        ("lr", 2.0, r"learning rates must be in \(0, 1\)"),
        ("precision", "fp8", r"precision must be auto, fp32 or bf16"),
        ("freeze_layers", 9, r"freeze_layers must be in \[0, 6\]"),
        ("safety_weight", 0.0, r"safety_weight must be > 0 \(got: 0.0\)"),
    ],
    ids=["max-length", "epochs", "lr", "precision", "freeze-layers", "safety-weight"],
)
def test_bad_distill_config(field: str, value: object, pattern: str) -> None:
    from export.distill import DistillConfig

    with pytest.raises(ExportError, match=pattern):
        DistillConfig(**{field: value})


@pytest.mark.parametrize(
    ("argv", "pattern"),
    [
        (["distill", "--corpus", "{tmp}/none.jsonl", "--out", "{tmp}/s"], r"error: corpus file .*none\.jsonl does not exist"),
        (["quantize", "--onnx", "{tmp}/none.onnx", "--out", "{tmp}/q"], r"error: .*none\.onnx does not exist; run `python -m export onnx`"),
        (["fp16", "--fp32", "{tmp}/none.onnx", "--out", "{tmp}/f"], r"error: .*none\.onnx does not exist"),
        (["onnx", "--student", "{tmp}", "--out", "{tmp}/o"], r"error: .* is not a student directory"),
        (["distill", "--corpus", "{tmp}/empty.jsonl", "--out", "{tmp}/s"], r"error: corpus file .*empty\.jsonl is empty"),
        (["distill", "--corpus", "{tmp}/empty.jsonl", "--teacher", "scores-file:{tmp}/x.csv"], r"error: corpus file .* is empty"),
        (["fp16", "--bundle", "{tmp}/nobundle"], r"error: judge bundle directory .*nobundle does not exist"),
    ],
    ids=["distill-missing-corpus", "quantize-missing-onnx", "fp16-missing-onnx", "onnx-not-student", "distill-empty-corpus",
         "scores-file-empty-corpus", "fp16-missing-bundle"],
)  # fmt: skip
def test_cli_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], pattern: str) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    code = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1  # one clear message, no traceback
    import re

    assert re.search(pattern, err), err
