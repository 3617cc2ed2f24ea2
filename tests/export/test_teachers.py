"""Teachers: construction labels and scores files (good input and every kind of bad input)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from export.dataset import read_corpus
from export.errors import TeacherError
from export.teachers import ConstructionLabelTeacher, ScoresFileTeacher, TeacherLabels, make_teacher
from sidecar.domain import DIMENSIONS

HEADER = "id," + ",".join(DIMENSIONS)


def test_construction_labels_are_narrow_and_centred(tiny_corpus: Path) -> None:
    rows = read_corpus(tiny_corpus)
    labels = ConstructionLabelTeacher().label(rows)
    scores = np.array([[r.scores[d] for d in DIMENSIONS] for r in rows])
    assert labels.probs.shape == (len(rows), 7, 5)
    assert np.allclose(labels.probs.sum(-1), 1.0)
    assert np.array_equal(labels.probs.argmax(-1) + 1, scores)
    assert labels.probs.max(-1).min() > 0.8  # narrow
    assert np.array_equal(labels.expected, scores)  # exact scores kept as the regression target


def test_labels_round_trip_and_select(tiny_corpus: Path, tmp_path: Path) -> None:
    labels = ConstructionLabelTeacher().label(read_corpus(tiny_corpus))
    labels.save(str(tmp_path / "l.npz"))
    again = TeacherLabels.load(str(tmp_path / "l.npz"))
    assert again.ids == labels.ids and np.array_equal(again.probs, labels.probs)
    picked = labels.select([labels.ids[5], labels.ids[2]])
    assert picked.ids == (labels.ids[5], labels.ids[2])
    assert np.array_equal(picked.expected[0], labels.expected[5])


def _rows(tiny_corpus: Path, n: int = 3):
    return read_corpus(tiny_corpus)[:n]


def test_scores_file_csv(tiny_corpus: Path, tmp_path: Path) -> None:
    rows = _rows(tiny_corpus)
    lines = [HEADER] + [f"{r.id},5,4,3,2.5,1,4,5" for r in rows]
    path = tmp_path / "scores.csv"
    path.write_text("\n".join(lines) + "\n")
    labels = ScoresFileTeacher(path).label(rows)
    assert labels.expected[0].tolist() == [5, 4, 3, 2.5, 1, 4, 5]
    assert labels.probs[0, 3, 1] == pytest.approx(labels.probs[0, 3, 2])  # 2.5 spreads evenly over 2 and 3
    assert labels.teacher == "scores-file(scores.csv)"


def test_scores_file_jsonl_with_probs(tiny_corpus: Path, tmp_path: Path) -> None:
    rows = _rows(tiny_corpus, 2)
    dist = [0.0, 0.1, 0.2, 0.3, 0.4]
    lines = [json.dumps({"id": r.id, "probs": {d: dist for d in DIMENSIONS}}) for r in rows]
    path = tmp_path / "judge.jsonl"
    path.write_text("\n".join(lines) + "\n")
    labels = ScoresFileTeacher(path).label(rows)
    assert np.allclose(labels.probs[1, 6], dist)
    assert labels.expected[0, 0] == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("name", "content", "pattern"),
    [
        ("s.csv", None, r"scores file .*s\.csv does not exist"),
        ("s.csv", "", r"s\.csv is empty"),
        ("s.csv", "id,Guidance\n", r"s\.csv:1: no column for Informativeness"),
        ("s.csv", HEADER.replace("Safety", "Safty") + "\n", r"s\.csv:1: unknown dimension column 'Safty'"),
        ("s.csv", HEADER.replace("Safety", "safety") + "\n", r"did you mean 'Safety'\?"),
        ("s.csv", HEADER.replace("id,", "row,") + "\n", r"s\.csv:1: the header has no 'id' column"),
        ("s.csv", HEADER + "\n{id},5,5,5,7,5,5,5\n", r"s\.csv:2: score for Safety must be in \[1, 5\] \(got: '7'\)"),
        ("s.csv", HEADER + "\n{id},5,5,5,0,5,5,5\n", r"s\.csv:2: score for Safety must be in \[1, 5\]"),
        ("s.csv", HEADER + "\n{id},5,5,high,5,5,5,5\n", r"s\.csv:2: score for Relevance is not a number"),
        ("s.csv", HEADER + "\n{id},5,5,5,5,5,5,5,9\n", r"s\.csv:2: more fields than the header"),
        ("s.csv", HEADER + "\n{id},5,5,5,5,5,5,5\n{id},4,4,4,4,4,4,4\n", r"s\.csv:3: duplicate id"),
        ("s.csv", HEADER + "\n", r"has no score rows"),
        ("s.jsonl", '{"id": "{id}", "scores": {"Guidance": 5}\n', r"s\.jsonl:1: not valid JSON"),
        ("s.jsonl", '{"id": "{id}"}\n', r"s\.jsonl:1: needs 'scores' or 'probs'"),
        ("s.jsonl", '{"id": "{id}", "scores": {"Warmth": 3}}\n', r"s\.jsonl:1: unknown dimension 'scores' key 'Warmth'"),
        ("s.jsonl", '{"id": "{id}", "scores": ALL6}\n', r"s\.jsonl:1: score for Safety must be in \[1, 5\] \(got: 6\)"),
        ("s.jsonl", '{"id": "{id}", "probs": BADP}\n', r"s\.jsonl:1: probs for Guidance must be 5 non-negative numbers"),
        ("s.txt", "x", r"unknown extension '\.txt'"),
    ],
    ids=[
        "missing-file", "empty-csv", "missing-dims", "unknown-dim", "wrong-case-dim", "no-id-column", "score-7",
        "score-0", "not-a-number", "extra-field", "duplicate-id", "header-only", "malformed-json", "no-scores",
        "unknown-json-dim", "json-score-6", "bad-probs", "unknown-extension",
    ],
)  # fmt: skip
def test_bad_scores_files(tiny_corpus: Path, tmp_path: Path, name: str, content: str | None, pattern: str) -> None:
    row_id = _rows(tiny_corpus, 1)[0].id
    path = tmp_path / name
    if content is not None:
        all6 = json.dumps({d: (6 if d == "Safety" else 3) for d in DIMENSIONS})
        badp = json.dumps({d: [0.5, 0.5] for d in DIMENSIONS})
        path.write_text(content.replace("{id}", row_id).replace("ALL6", all6).replace("BADP", badp))
    with pytest.raises(TeacherError, match=pattern):
        ScoresFileTeacher(path)


def test_scores_file_missing_a_corpus_row(tiny_corpus: Path, tmp_path: Path) -> None:
    rows = _rows(tiny_corpus, 3)
    path = tmp_path / "s.csv"
    path.write_text(f"{HEADER}\n{rows[0].id},5,5,5,5,5,5,5\n")
    with pytest.raises(TeacherError, match=rf"no scores for corpus row '{rows[1].id}' \(2 of 3 rows missing\)"):
        ScoresFileTeacher(path).label(rows)


@pytest.mark.parametrize(
    ("spec", "pattern"),
    [("magic", r"unknown teacher 'magic'"), ("scores-file:", r"unknown teacher"), ("llm:/no/such/dir", r"does not exist")],
    ids=["unknown", "scores-file-without-path", "llm-missing-dir"],
)
def test_make_teacher_rejects_bad_specs(spec: str, pattern: str) -> None:
    with pytest.raises(TeacherError, match=pattern):
        make_teacher(spec)


def test_construction_teacher_needs_labels(tiny_corpus: Path, tmp_path: Path) -> None:
    data = json.loads(tiny_corpus.read_text().splitlines()[0])
    del data["scores"]
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(data) + "\n")
    with pytest.raises(TeacherError, match=r"has no 'scores'.*--teacher scores-file"):
        ConstructionLabelTeacher().label(read_corpus(path))
