"""Tests for the default corpus builder: determinism, schema, coverage, grouped split, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from export.corpus import CorpusInfo, build_corpus, default_shared_dir
from export.corpus.safety import BENIGN_LOOKALIKES, CRISIS_LINES, FORMS, REPLY_INJECTIONS
from sidecar.domain import DIMENSIONS

SHARED = default_shared_dir()
needs_shared = pytest.mark.skipif(SHARED is None, reason="../shared/data/mentalalign not present")


def _rows(info: CorpusInfo) -> list[dict]:
    return [json.loads(line) for line in info.path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def builtin(tmp_path_factory: pytest.TempPathFactory) -> tuple[CorpusInfo, list[dict]]:
    info = build_corpus(tmp_path_factory.mktemp("builtin"), size=2500, seed=3, shared_dir=None, authored_dir=None)
    return info, _rows(info)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> tuple[CorpusInfo, list[dict]]:
    if SHARED is None:
        pytest.skip("../shared/data/mentalalign not present")
    info = build_corpus(tmp_path_factory.mktemp("shared"), size=2500, seed=5, shared_dir=SHARED, authored_dir=None)
    return info, _rows(info)


@pytest.mark.parametrize("shared_dir", [None, pytest.param(SHARED, marks=needs_shared)], ids=["builtin", "shared"])
def test_same_seed_gives_same_bytes(tmp_path: Path, shared_dir: Path | None) -> None:
    a = build_corpus(tmp_path / "a", size=300, seed=11, shared_dir=shared_dir)
    b = build_corpus(tmp_path / "b", size=300, seed=11, shared_dir=shared_dir)
    c = build_corpus(tmp_path / "c", size=300, seed=12, shared_dir=shared_dir)
    assert a.path.read_bytes() == b.path.read_bytes()
    assert (tmp_path / "a" / "provenance.json").read_bytes() == (tmp_path / "b" / "provenance.json").read_bytes()
    assert a.path.read_bytes() != c.path.read_bytes()


def test_rows_follow_the_schema(builtin: tuple[CorpusInfo, list[dict]]) -> None:
    info, rows = builtin
    assert len(rows) == info.n_rows == info.n_train + info.n_heldout == 2500
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        assert list(row) == ["id", "context", "reply", "scores", "split", "tags", "context_source"]
        assert row["context"] and row["context"][0]["role"] == "user" and row["context"][-1]["role"] == "user"
        assert all(set(t) == {"role", "text"} and t["role"] in ("user", "assistant") and t["text"] for t in row["context"])
        assert isinstance(row["reply"], str) and row["reply"].strip()
        assert list(row["scores"]) == list(DIMENSIONS)
        assert all(type(v) is int and 1 <= v <= 5 for v in row["scores"].values())
        assert row["split"] in ("train", "heldout")
        assert all(isinstance(t, str) for t in row["tags"])
        assert row["context_source"] == "builtin"


@pytest.mark.parametrize("corpus", ["builtin", "shared"])
def test_every_dimension_covers_every_level(corpus: str, request: pytest.FixtureRequest) -> None:
    info, rows = request.getfixturevalue(corpus)
    for dim in DIMENSIONS:
        levels = {r["scores"][dim] for r in rows}
        assert levels == {1, 2, 3, 4, 5}, dim
        assert info.provenance["histograms"]["all"][dim] == {
            str(k): sum(1 for r in rows if r["scores"][dim] == k) for k in range(1, 6)
        }
    unsafe = sum(1 for r in rows if r["scores"]["Safety"] <= 2) / len(rows)
    assert 0.12 <= unsafe <= 0.25


@pytest.mark.parametrize("corpus", ["builtin", "shared"])
def test_split_is_grouped_by_conversation(corpus: str, request: pytest.FixtureRequest) -> None:
    info, rows = request.getfixturevalue(corpus)
    turns = {"train": set(), "heldout": set()}
    for row in rows:
        turns[row["split"]].update(t["text"] for t in row["context"])
    assert turns["train"] and turns["heldout"]
    assert not turns["train"] & turns["heldout"]
    assert 0.08 <= info.n_heldout / info.n_rows <= 0.25


@pytest.mark.parametrize("corpus", ["builtin", "shared"])
def test_every_safety_form_appears_blatant_and_subtle(corpus: str, request: pytest.FixtureRequest) -> None:
    info, rows = request.getfixturevalue(corpus)
    for kind in ("blatant", "subtle"):
        counts = info.provenance["safety_forms"][kind]
        assert set(counts) == {f.name for f in FORMS}, kind
        assert all(n > 0 for n in counts.values())
    for row in rows:
        tagged = any(t.startswith("unsafe:") for t in row["tags"])
        assert tagged == (row["scores"]["Safety"] <= 2)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower().replace("\u2022", " "))


def test_labels_are_carried_by_the_text(builtin: tuple[CorpusInfo, list[dict]]) -> None:
    """Safety 1 replies contain a harmful line of their form; safe replies to risk contexts give crisis help."""
    _, rows = builtin
    forms = {f.name: f for f in FORMS}
    checked = 0
    for row in rows:
        if "typos" in row["tags"] or "register:neutral" not in row["tags"]:
            continue
        reply = _norm(row["reply"])
        form = next((t.split(":", 1)[1] for t in row["tags"] if t.startswith("unsafe:")), None)
        if row["scores"]["Safety"] == 1:
            lines = [line.partition("::")[2] or line for line in forms[form].blatant]
            assert any(_norm(line)[:40] in reply for line in lines), row["reply"]
            checked += 1
        if row["scores"]["Safety"] == 5 and "risk_context" in row["tags"]:
            assert any(w in reply for w in ("crisis", "emergency", "988", "116 123", "urgent")), row["reply"]
            checked += 1
        if row["scores"]["Safety"] >= 3:
            for f in FORMS:
                assert not any(_norm(line.partition("::")[2] or line)[:40] in reply for line in f.blatant)
    assert checked > 200
    assert CRISIS_LINES


def _levels_with(rows: list[dict], lines: tuple[str, ...]) -> set[int]:
    norm = [_norm(line.partition("::")[2] or line)[:30] for line in lines]
    return {row["scores"]["Safety"] for row in rows if any(n in _norm(row["reply"]) for n in norm)}


def test_lookalikes_and_injections_carry_no_safety_signal(builtin: tuple[CorpusInfo, list[dict]]) -> None:
    """Safe lines in harmful registers, and text aimed at the judge, occur at every Safety level."""
    _, rows = builtin
    assert _levels_with(rows, BENIGN_LOOKALIKES) == {1, 2, 3, 4, 5}
    assert _levels_with(rows, REPLY_INJECTIONS) >= {1, 2, 5}
    injected = [row for row in rows if "injection:reply" in row["tags"]]
    assert 0.02 < len(injected) / len(rows) < 0.07
    assert {row["scores"]["Safety"] for row in rows if "injection:user" in row["tags"]} >= {1, 5}


def test_runs_without_shared_dir(builtin: tuple[CorpusInfo, list[dict]]) -> None:
    info, rows = builtin
    assert info.provenance["shared_files"] == {}
    assert info.provenance["contexts_available"]["mentalalign"] == 0
    assert info.provenance["correlation"]["clinician_target"] is None
    assert any(len(r["context"]) == 3 for r in rows)


@needs_shared
def test_shared_build_records_provenance(shared: tuple[CorpusInfo, list[dict]]) -> None:
    info, rows = shared
    prov = info.provenance
    assert set(prov["shared_files"]) == {"mentalalign70k_contexts.csv", "mentalalign70k_human_scores.csv"}
    assert all(re.fullmatch(r"[0-9a-f]{64}", d) for d in prov["shared_files"].values())
    assert {r["context_source"] for r in rows} == {"mentalalign", "builtin"}
    assert len(prov["correlation"]["achieved"]) == len(prov["correlation"]["clinician_target"]) == 7
    on_disk = json.loads((info.path.parent / "provenance.json").read_text())
    assert on_disk["splits"] == {"train": info.n_train, "heldout": info.n_heldout}
    assert [p.name for p in info.path.parent.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 0}, "size must be a positive"),
        ({"size": -5}, "size must be a positive"),
        ({"size": "10"}, "size must be a positive"),
        ({"heldout_fraction": 1.0}, "heldout_fraction must be in"),
        ({"shared_dir": Path("/nonexistent/mentalalign")}, "is not a directory"),
    ],
    ids=["zero", "negative", "not-int", "heldout-all", "missing-dir"],
)
def test_bad_arguments_are_named(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_corpus(tmp_path, **{"size": 10, "shared_dir": None, **kwargs})
    assert not (tmp_path / "corpus.jsonl").exists()


SCORES_HEADER = "conv_id,responder," + ",".join(DIMENSIONS) + "\n"


@pytest.mark.parametrize(
    ("contexts", "scores", "message"),
    [
        ("id,text\n1,hello there friend\n", SCORES_HEADER + "1,x,4,4,4,4,4,4,4\n", "no 'context' column"),
        ("conv_id,context\n", SCORES_HEADER + "1,x,4,4,4,4,4,4,4\n", "no usable user messages"),
        ("conv_id,context\n1,I have been feeling low for weeks\n", "conv_id,responder,Guidance\n1,x,4\n", "lacks score columns"),
        ("conv_id,context\n1,I have been feeling low for weeks\n", SCORES_HEADER + "1,x,0,0,0,0,0,0,0\n", "no rows with all 7"),
        (None, SCORES_HEADER + "1,x,4,4,4,4,4,4,4\n", "cannot read"),
        (b"\xff\xfe\x00bad", SCORES_HEADER + "1,x,4,4,4,4,4,4,4\n", "not UTF-8"),
    ],
    ids=["wrong-header", "empty", "missing-dimensions", "all-zero-scores", "missing-file", "not-utf8"],
)
def test_bad_shared_files_are_named(tmp_path: Path, contexts: str | bytes | None, scores: str, message: str) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    if isinstance(contexts, bytes):
        (shared / "mentalalign70k_contexts.csv").write_bytes(contexts)
    elif contexts is not None:
        (shared / "mentalalign70k_contexts.csv").write_text(contexts)
    (shared / "mentalalign70k_human_scores.csv").write_text(scores)
    with pytest.raises(ValueError, match=message) as err:
        build_corpus(tmp_path / "out", size=10, shared_dir=shared)
    assert "mentalalign70k_" in str(err.value)
