"""Reading a judge corpus (JSONL) into rows; the one reader every stage uses."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from export.errors import CorpusError
from sidecar.domain import DIMENSIONS, Role, Turn

SPLITS = ("train", "heldout")
_FIX = "rebuild it with `python -m export corpus` or fix the line"


@dataclass(frozen=True)
class CorpusRow:
    """One (context, reply) pair to judge, with its construction scores when the corpus has them."""

    id: str
    context: tuple[Turn, ...]
    reply: str
    split: str
    scores: Mapping[str, int] | None = None  # construction labels, 1-5 per dimension
    tags: tuple[str, ...] = field(default=())

    @property
    def pair(self) -> tuple[tuple[Turn, ...], str]:
        return (self.context, self.reply)


def read_corpus(path: str | Path) -> list[CorpusRow]:
    """Read and check a corpus JSONL file.

    Rows: ``{"id", "context": [{"role", "text"}], "reply", "split", "scores"?: {dim: 1-5}, "tags"?}``.

    Raises:
        CorpusError: the file is missing or empty, or a line is malformed (names file and line).
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"corpus file {path} does not exist; build one with `python -m export corpus`")
    rows: list[CorpusRow] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as err:
                raise CorpusError(f"{where}: not valid JSON ({err.msg}); {_FIX}") from None
            row = _row(data, where)
            if row.id in seen:
                raise CorpusError(f"{where}: duplicate id {row.id!r}; ids must be unique: {_FIX}")
            seen.add(row.id)
            rows.append(row)
    if not rows:
        raise CorpusError(f"corpus file {path} is empty (no rows); build one with `python -m export corpus`")
    return rows


def split_rows(rows: Sequence[CorpusRow], split: str) -> list[CorpusRow]:
    """Rows of one split, in file order."""
    return [r for r in rows if r.split == split]


def _row(data: object, where: str) -> CorpusRow:
    if not isinstance(data, dict):
        raise CorpusError(f"{where}: expected a JSON object per line; {_FIX}")
    for key in ("id", "context", "reply", "split"):
        if key not in data:
            raise CorpusError(f"{where}: missing field {key!r}; {_FIX}")
    reply = data["reply"]
    if not isinstance(reply, str) or not reply.strip():
        raise CorpusError(f"{where}: 'reply' must be non-empty text; {_FIX}")
    if data["split"] not in SPLITS:
        raise CorpusError(f"{where}: 'split' must be one of {', '.join(SPLITS)} (got: {data['split']!r}); {_FIX}")
    context = data["context"]
    if not isinstance(context, list):
        raise CorpusError(f"{where}: 'context' must be a list of {{role, text}} turns; {_FIX}")
    turns: list[Turn] = []
    for i, turn in enumerate(context):
        try:
            turns.append(Turn(role=Role(turn["role"]), text=str(turn["text"])))
        except (KeyError, TypeError, ValueError):
            raise CorpusError(
                f"{where}: context[{i}] must be {{'role': 'user'|'assistant', 'text': ...}} (got: {turn!r:.80}); {_FIX}"
            ) from None
    scores = data.get("scores")
    if scores is not None:
        scores = _scores(scores, where)
    tags = data.get("tags") or ()
    return CorpusRow(
        id=str(data["id"]), context=tuple(turns), reply=reply, split=data["split"], scores=scores,
        tags=tuple(str(t) for t in tags),
    )  # fmt: skip


def _scores(scores: object, where: str) -> dict[str, int]:
    if not isinstance(scores, dict):
        raise CorpusError(f"{where}: 'scores' must be an object {{dimension: 1-5}}; {_FIX}")
    unknown = sorted(set(scores) - set(DIMENSIONS))
    if unknown:
        raise CorpusError(
            f"{where}: unknown dimension {unknown[0]!r} in 'scores' (known: {', '.join(DIMENSIONS)}); {_FIX}"
        )
    missing = [d for d in DIMENSIONS if d not in scores]
    if missing:
        raise CorpusError(f"{where}: 'scores' lacks {', '.join(missing)}; every row needs all 7; {_FIX}")
    out: dict[str, int] = {}
    for dim in DIMENSIONS:
        value = scores[dim]
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or not 1 <= value <= 5:
            raise CorpusError(f"{where}: score for {dim} must be an integer in [1, 5] (got: {value!r}); {_FIX}")
        out[dim] = int(value)
    return out
