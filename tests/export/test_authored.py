"""The hand-written, hand-scored corpus rows: the committed files, reading errors, the split, the builder
and how distillation samples them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from export.corpus import build_corpus
from export.corpus.authored import (
    AUTHORED_DIR,
    AUTHORED_TAG,
    KINDS,
    corpus_rows,
    heldout_situations,
    read_authored,
)
from export.dataset import CorpusRow
from export.distill import training_rows
from export.errors import ExportError
from sidecar.domain import DIMENSIONS, Role, Turn

GOOD = {
    "id": "x-001",
    "context": [{"role": "user", "text": "I can't stop crying since my dog died."}],
    "reply": "Losing a dog is losing family. Would it help to tell me about her?",
    "scores": {d: 4 for d in DIMENSIONS},
    "form": "good/grief",
    "note": "warm, on topic",
}


@pytest.fixture(scope="module")
def committed() -> list:
    return read_authored()


def test_committed_rows_cover_every_kind_level_and_dimension(committed: list) -> None:
    assert len(committed) >= 600
    authors = Counter(r.author for r in committed)
    assert len(authors) >= 5 and min(authors.values()) >= 40
    assert {r.kind for r in committed} == set(KINDS)
    for dim in DIMENSIONS:
        levels = Counter(r.scores[dim] for r in committed)
        assert set(levels) == {1, 2, 3, 4, 5}, f"{dim} misses a level: {levels}"
    safety = Counter(r.scores["Safety"] for r in committed)
    assert safety[1] + safety[2] >= 0.15 * len(committed)
    # Several replies of different quality to the same situation: the contrast the generated rows lack.
    per_situation = Counter((r.author, r.situation) for r in committed)
    assert sum(1 for n in per_situation.values() if n >= 2) >= 0.5 * len(per_situation)


def test_committed_kinds_agree_with_their_safety_level(committed: list) -> None:
    allowed = {"unsafe-blatant": {1}, "unsafe-subtle": {2}, "questionable": {3}, "lapse": {4}, "good": {5}, "weak": {4, 5}}
    wrong = [(r.id, r.kind, r.scores["Safety"]) for r in committed if r.scores["Safety"] not in allowed[r.kind]]
    assert not wrong, wrong[:5]


def _write(tmp_path: Path, *rows: object, raw: str | None = None) -> Path:
    path = tmp_path / "ab.jsonl"
    text = raw if raw is not None else "\n".join(json.dumps(r) for r in rows) + "\n"
    path.write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "change, message",
    [
        ({"scores": {**GOOD["scores"], "Safety": 6}}, "Safety=6 must be an integer 1-5"),
        ({"scores": {**GOOD["scores"], "Safety": True}}, "Safety=True"),
        ({"scores": {**GOOD["scores"], "Safety": 4.5}}, "Safety=4.5"),
        ({"scores": {"Safety": 3}}, "'scores' must name exactly"),
        ({"reply": "  "}, "'reply' must be non-empty"),
        ({"context": [{"role": "assistant", "text": "hi"}]}, "last context turn must be the user's"),
        ({"context": [{"role": "bot", "text": "hi"}]}, "role user|assistant"),
        ({"context": []}, "non-empty list"),
        ({"context": ["hi"]}, "role user|assistant"),
        ({"context": [{"role": "user", "text": 5}]}, "non-empty text"),
        ({"form": "great/grief"}, "form kind 'great'"),
    ],
)
def test_a_bad_row_names_file_line_and_what_is_wrong(tmp_path: Path, change: dict, message: str) -> None:
    directory = _write(tmp_path, GOOD, {**GOOD, "id": "x-002", **change})
    with pytest.raises(ValueError, match=r"ab\.jsonl:2: .*") as err:
        read_authored(directory)
    assert message in str(err.value) and "authored/README.md" in str(err.value)


def test_missing_keys_invalid_json_and_duplicate_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"ab\.jsonl:1: missing field 'reply'"):
        read_authored(_write(tmp_path, {k: v for k, v in GOOD.items() if k != "reply"}))
    with pytest.raises(ValueError, match=r"ab\.jsonl:1: not valid JSON"):
        read_authored(_write(tmp_path, raw='{"id": "x-001",\n'))
    with pytest.raises(ValueError, match=r"ab\.jsonl:2: duplicate id 'x-001'"):
        read_authored(_write(tmp_path, GOOD, GOOD))


def test_replies_to_one_situation_share_a_split(committed: list) -> None:
    held = heldout_situations(committed, seed=13)
    rows, provenance = corpus_rows(committed, seed=13)
    split_of: dict[tuple[str, str], set[str]] = {}
    for source, row in zip(committed, rows):
        split_of.setdefault((source.author, source.situation), set()).add(row["split"])
        assert (row["split"] == "heldout") == (source.situation in held)
    assert all(len(s) == 1 for s in split_of.values())
    for author in {r.author for r in committed}:  # every author in both splits
        assert {r["split"] for r, s in zip(rows, committed) if s.author == author} == {"train", "heldout"}
    assert 0.15 <= provenance["heldout"] / provenance["rows"] <= 0.35
    assert heldout_situations(committed, seed=13) == held and heldout_situations(committed, seed=14) != held


def test_the_builder_appends_tagged_authored_rows(tmp_path: Path, committed: list) -> None:
    info = build_corpus(tmp_path / "with", size=50, seed=3, shared_dir=None)
    rows = [json.loads(line) for line in info.path.read_text(encoding="utf-8").splitlines()]
    authored = [r for r in rows if AUTHORED_TAG in r["tags"]]
    assert len(rows) == info.n_rows == 50 + len(committed) and len(authored) == len(committed)
    assert all(r["id"].startswith("authored-") and r["context_source"] == "authored" for r in authored)
    for row in authored:  # the unsafe slice is exactly the rows tagged unsafe:*, as for generated rows
        assert ("unsafe:authored" in row["tags"]) == (row["scores"]["Safety"] <= 2)
    assert info.provenance["authored"]["rows"] == len(committed)
    assert set(info.provenance["authored"]["files_sha256"]) == {r.author for r in committed}
    without = build_corpus(tmp_path / "without", size=50, seed=3, shared_dir=None, authored_dir=None)
    assert without.n_rows == 50 and without.provenance["authored"] is None


def _row(i: int, authored: bool) -> CorpusRow:
    return CorpusRow(id=f"r{i}", context=(Turn(Role.USER, "hi"),), reply="hello", split="train",
                     tags=(AUTHORED_TAG,) if authored else ())  # fmt: skip


def test_training_rows_keep_every_authored_row_repeated_inside_the_budget() -> None:
    rows = [_row(i, authored=i < 10) for i in range(200)]
    picked = training_rows(rows, 100, 4, np.random.default_rng(0))
    counts = Counter(r.id for r in picked)
    assert len(picked) == 100
    assert all(counts[f"r{i}"] == 4 for i in range(10))
    assert sum(1 for r in picked if AUTHORED_TAG not in r.tags) == 60 == len({r.id for r in picked}) - 10
    everything = training_rows(rows, None, 2, np.random.default_rng(0))
    assert len(everything) == 190 + 20
    assert training_rows(rows, 100, 0, np.random.default_rng(0)) == training_rows(rows, 100, 0, np.random.default_rng(0))
    assert not any(AUTHORED_TAG in r.tags for r in training_rows(rows, 100, 0, np.random.default_rng(0)))
    with pytest.raises(ExportError, match=r"max_train_rows 30 is smaller than the 10 hand-written .* = 40"):
        training_rows(rows, 30, 4, np.random.default_rng(0))


def test_the_committed_files_are_the_default_directory() -> None:
    assert AUTHORED_DIR == Path(__file__).resolve().parents[2] / "export" / "corpus" / "authored"
    assert (AUTHORED_DIR / "README.md").is_file()
