"""Checks the hand-written judge probe set and rewrite evaluation set are well formed and balanced."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from sidecar.domain import DIMENSIONS

ROOT = Path(__file__).resolve().parents[2]
PROBES = ROOT / "tests" / "probes" / "judge_probes.jsonl"
SHORT_REPLIES = ROOT / "tests" / "probes" / "short_replies.jsonl"
REWRITE_EVAL = ROOT / "bench" / "data" / "rewrite_eval.jsonl"

PROBE_KINDS = {"unsafe-blatant", "unsafe-subtle", "good", "good-hardneg", "weak"}
REWRITE_KINDS = {
    "unsafe-blatant", "unsafe-subtle", "dismissive", "cold", "off-topic", "generic", "one-liner", "misreads",
}


def _load(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            pytest.fail(f"{path.name}:{number}: blank line (remove it)")
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as err:
            pytest.fail(f"{path.name}:{number}: not valid JSON ({err})")
    return rows


@pytest.fixture(scope="module")
def probes() -> list[dict]:
    return _load(PROBES)


@pytest.fixture(scope="module")
def rewrites() -> list[dict]:
    return _load(REWRITE_EVAL)


def _kind(row: dict) -> str:
    return row["form"].split("/", 1)[0]


def _check_context(row: dict) -> None:
    context = row["context"]
    assert isinstance(context, list) and context, f"{row['id']}: context must be a non-empty list"
    for turn in context:
        assert set(turn) == {"role", "text"}, f"{row['id']}: turn keys {sorted(turn)}"
        assert turn["role"] in ("user", "assistant"), f"{row['id']}: role {turn['role']!r}"
        assert isinstance(turn["text"], str) and turn["text"].strip(), f"{row['id']}: empty turn text"
    # The reply answers the user, so the last context turn is the user's.
    assert context[-1]["role"] == "user", f"{row['id']}: last context turn must be the user's"


def _check_dims(row_id: str, field: str, dims: list) -> None:
    assert isinstance(dims, list), f"{row_id}: {field} must be a list"
    unknown = [d for d in dims if d not in DIMENSIONS]
    assert not unknown, f"{row_id}: unknown dimension(s) in {field}: {unknown}"
    assert len(set(dims)) == len(dims), f"{row_id}: repeated dimension in {field}"


# ---------------------------------------------------------------- judge probes


def _check_probe(row: dict) -> None:
    assert set(row) == {"id", "context", "reply", "expect", "form", "note"}, f"{row.get('id')}: keys {sorted(row)}"
    assert isinstance(row["reply"], str) and row["reply"].strip(), f"{row['id']}: empty reply"
    assert row["note"].strip(), f"{row['id']}: empty note"
    assert _kind(row) in PROBE_KINDS and "/" in row["form"], f"{row['id']}: form {row['form']!r}"
    _check_context(row)
    expect = row["expect"]
    assert set(expect) == {"unsafe", "low", "high"}, f"{row['id']}: expect keys {sorted(expect)}"
    assert isinstance(expect["unsafe"], bool), f"{row['id']}: expect.unsafe must be a bool"
    _check_dims(row["id"], "low", expect["low"])
    _check_dims(row["id"], "high", expect["high"])
    overlap = set(expect["low"]) & set(expect["high"])
    assert not overlap, f"{row['id']}: {overlap} expected both low and high"


def test_probe_schema(probes: list[dict]) -> None:
    for row in probes:
        _check_probe(row)


def test_short_reply_probes_are_well_formed_short_and_balanced() -> None:
    rows = _load(SHORT_REPLIES)
    for row in rows:
        _check_probe(row)
        assert len(row["reply"].split()) <= 40, f"{row['id']}: {len(row['reply'].split())} words is not short"
        assert row["expect"]["unsafe"] == _kind(row).startswith("unsafe"), f"{row['id']}: kind vs expect.unsafe"
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)) and all(i.startswith("s") for i in ids)
    unsafe = sum(row["expect"]["unsafe"] for row in rows)
    assert unsafe >= 30 and len(rows) - unsafe >= 30, f"unsafe {unsafe} vs safe {len(rows) - unsafe}"


def test_probe_ids_and_replies_unique(probes: list[dict]) -> None:
    ids = [row["id"] for row in probes]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    assert all(i.startswith("p") for i in ids)
    replies = Counter(" ".join(row["reply"].lower().split()) for row in probes)
    assert not [r for r, n in replies.items() if n > 1], "duplicate probe replies"


@pytest.mark.parametrize(
    ("kind", "minimum"),
    [("unsafe", 50), ("good", 50), ("good-hardneg", 15), ("unsafe-subtle", 0), ("weak", 20)],
    ids=["unsafe", "good-incl-hardneg", "hardneg", "subtle", "weak"],
)
def test_probe_counts(probes: list[dict], kind: str, minimum: int) -> None:
    kinds = Counter(_kind(row) for row in probes)
    unsafe = kinds["unsafe-blatant"] + kinds["unsafe-subtle"]
    counts = {
        "unsafe": unsafe,
        "good": kinds["good"] + kinds["good-hardneg"],
        "good-hardneg": kinds["good-hardneg"],
        "unsafe-subtle": kinds["unsafe-subtle"],
        "weak": kinds["weak"],
    }
    if kind == "unsafe-subtle":
        minimum = -(-unsafe // 3)  # at least a third of the unsafe replies are subtle
    assert counts[kind] >= minimum, f"{kind}: {counts[kind]} < {minimum}"
    assert len(probes) >= 120


def test_probe_balance(probes: list[dict]) -> None:
    kinds = Counter(_kind(row) for row in probes)
    unsafe = kinds["unsafe-blatant"] + kinds["unsafe-subtle"]
    good = kinds["good"] + kinds["good-hardneg"]
    # Recall and false-positive rate are both measured, so neither side may dwarf the other.
    assert 0.8 <= unsafe / good <= 1.25, f"unsafe {unsafe} vs good {good}"
    assert kinds["weak"] <= 30


def test_probe_expectations_match_kind(probes: list[dict]) -> None:
    for row in probes:
        kind, expect = _kind(row), row["expect"]
        if kind.startswith("unsafe"):
            assert expect["unsafe"] is True and "Safety" in expect["low"], row["id"]
        else:
            assert expect["unsafe"] is False, row["id"]
            assert "Safety" not in expect["low"] and "Safety" in expect["high"], row["id"]
        if kind.startswith("good"):
            assert expect["low"] == [] and "Relevance" in expect["high"], row["id"]
        if kind == "weak":
            assert expect["low"], f"{row['id']}: a weak reply must name the dimension(s) it fails"


def test_unsafe_categories_spread(probes: list[dict]) -> None:
    categories = Counter(row["form"].split("/", 1)[1] for row in probes if _kind(row).startswith("unsafe"))
    assert len(categories) >= 12, sorted(categories)
    assert max(categories.values()) <= 8, categories.most_common(1)


# ---------------------------------------------------------------- rewrite evaluation set


def test_rewrite_schema(rewrites: list[dict]) -> None:
    for row in rewrites:
        assert set(row) == {"id", "context", "reply", "failing", "form", "note"}, f"{row.get('id')}: keys {sorted(row)}"
        assert isinstance(row["reply"], str) and row["reply"].strip(), f"{row['id']}: empty reply"
        assert _kind(row) in REWRITE_KINDS, f"{row['id']}: form {row['form']!r}"
        _check_context(row)
        _check_dims(row["id"], "failing", row["failing"])
        assert row["failing"], f"{row['id']}: a below-threshold reply must fail at least one dimension"
        # Same order as DIMENSIONS, like RewriteRequest.failing.
        assert row["failing"] == [d for d in DIMENSIONS if d in row["failing"]], row["id"]
        assert ("Safety" in row["failing"]) == _kind(row).startswith("unsafe"), row["id"]


def test_rewrite_counts_and_uniqueness(rewrites: list[dict]) -> None:
    assert len(rewrites) >= 60
    ids = [row["id"] for row in rewrites]
    assert len(ids) == len(set(ids)) and all(i.startswith("r") for i in ids)
    replies = Counter(" ".join(row["reply"].lower().split()) for row in rewrites)
    assert not [r for r, n in replies.items() if n > 1], "duplicate rewrite replies"
    kinds = Counter(_kind(row) for row in rewrites)
    assert kinds["unsafe-blatant"] + kinds["unsafe-subtle"] >= 20
    assert kinds["unsafe-subtle"] >= 8
    assert sum(n for k, n in kinds.items() if not k.startswith("unsafe")) >= 30
    assert all(kinds[k] >= 4 for k in REWRITE_KINDS), kinds


def test_sets_are_disjoint(probes: list[dict], rewrites: list[dict]) -> None:
    def norm(text: str) -> str:
        return " ".join(text.lower().split())

    # The situation is the last user turn; short openers like "hi" may repeat, situations may not.
    probe_texts = {norm(r["context"][-1]["text"]) for r in probes} | {norm(r["reply"]) for r in probes}
    shared = [row["id"] for row in rewrites
              if norm(row["reply"]) in probe_texts or norm(row["context"][-1]["text"]) in probe_texts]
    assert not shared, f"rewrite items reuse probe text: {shared}"
