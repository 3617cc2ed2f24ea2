"""Hand-written, hand-scored rows (``export/corpus/authored/*.jsonl``) that join the generated corpus.

The generated replies are stitched from phrase banks; a student trained on them alone learns the
stitching and misreads natural replies. These rows were written and scored by hand, one reply at a
time, as natural text: several replies of different quality to the same situation, harm that sits in
what a warm reply advises or ignores, safe replies that talk about medication, food or scars. They
are the project's own text (no shared data), so they live in the repository.

Each file is one author's; the row format is documented in ``authored/README.md``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sidecar.domain import DIMENSIONS

AUTHORED_DIR = Path(__file__).resolve().parent / "authored"
AUTHORED_TAG = "source:authored"  # every corpus row made from these files carries it
KINDS = ("good", "unsafe-blatant", "unsafe-subtle", "questionable", "lapse", "weak")
# Whole situations (all replies to the same opening message) go to one split, so a held-out reply
# never has a training sibling on the same conversation.
HELDOUT_FRACTION = 0.25
_FIX = "fix the line; the format is in export/corpus/authored/README.md"


@dataclass(frozen=True)
class AuthoredRow:
    id: str
    author: str  # the file stem
    context: tuple[dict[str, str], ...]
    reply: str
    scores: dict[str, int]
    kind: str
    topic: str

    @property
    def situation(self) -> str:
        """The opening user message: replies to the same situation share it."""
        return self.context[0]["text"].strip().lower()


def read_authored(directory: Path = AUTHORED_DIR) -> list[AuthoredRow]:
    """Read every ``*.jsonl`` in ``directory`` (sorted by name); a bad line stops with file:line and why.

    Raises:
        ValueError: a malformed line, a duplicate id, or a score outside 1-5.
    """
    rows: list[AuthoredRow] = []
    seen: set[str] = set()
    for path in sorted(Path(directory).glob("*.jsonl")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                row = _row(json.loads(line), path.stem)
            except json.JSONDecodeError as err:
                raise ValueError(f"{where}: not valid JSON ({err.msg}); {_FIX}") from None
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f"{where}: {err}; {_FIX}") from None
            if row.id in seen:
                raise ValueError(f"{where}: duplicate id {row.id!r}; {_FIX}")
            seen.add(row.id)
            rows.append(row)
    return rows


def _row(data: Any, author: str) -> AuthoredRow:
    if not isinstance(data, dict):
        raise TypeError("expected one JSON object per line")
    missing = [k for k in ("id", "context", "reply", "scores", "form") if k not in data]
    if missing:
        raise ValueError(f"missing field {missing[0]!r}")
    context = data["context"]
    if not isinstance(context, list) or not context:
        raise ValueError("'context' must be a non-empty list of turns")
    turns = []
    for turn in context:
        text = turn.get("text") if isinstance(turn, dict) else None
        if not isinstance(text, str) or not text.strip() or turn.get("role") not in ("user", "assistant"):
            raise ValueError(f"each turn needs role user|assistant and non-empty text (got: {turn!r:.80})")
        turns.append({"role": turn["role"], "text": text})
    if turns[-1]["role"] != "user":
        raise ValueError("the last context turn must be the user's")
    reply = data["reply"]
    if not isinstance(reply, str) or not reply.strip():
        raise ValueError("'reply' must be non-empty text")
    scores = data["scores"]
    if not isinstance(scores, dict) or set(scores) != set(DIMENSIONS):
        raise ValueError(f"'scores' must name exactly {', '.join(DIMENSIONS)}")
    for dim in DIMENSIONS:
        value = scores[dim]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise ValueError(f"score {dim}={value!r} must be an integer 1-5")
    kind, _, topic = str(data["form"]).partition("/")
    if kind not in KINDS:
        raise ValueError(f"form kind {kind!r} is not one of {', '.join(KINDS)}")
    return AuthoredRow(
        id=str(data["id"]), author=author, context=tuple(turns), reply=reply,
        scores={d: scores[d] for d in DIMENSIONS}, kind=kind, topic=topic or "general",
    )  # fmt: skip


def heldout_situations(rows: list[AuthoredRow], seed: int, fraction: float = HELDOUT_FRACTION) -> set[str]:
    """A seeded, hash-ranked share of the distinct situations, per author (an author with two or more
    situations has some in each split)."""
    held: set[str] = set()
    by_author: dict[str, list[str]] = {}
    for row in rows:
        by_author.setdefault(row.author, [])
        if row.situation not in by_author[row.author]:
            by_author[row.author].append(row.situation)
    for situations in by_author.values():
        n = min(math.ceil(fraction * len(situations)), max(1, len(situations) - 1))
        rank = sorted(situations, key=lambda s: hashlib.sha256(f"{seed}|authored|{s}".encode()).hexdigest())
        held.update(rank[:n])
    return held


def corpus_rows(
    rows: list[AuthoredRow], seed: int, directory: Path = AUTHORED_DIR
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The authored rows as corpus rows (tagged ``source:authored``), and their provenance record."""
    held = heldout_situations(rows, seed)
    out = []
    for row in rows:
        safety = row.scores["Safety"]
        tags = [AUTHORED_TAG, f"author:{row.author}", f"form:{row.kind}", f"category:{row.topic}",
                f"turns:{len(row.context)}"]  # fmt: skip
        if safety <= 2:  # the unsafe slice is exactly the rows tagged unsafe:*, as for generated rows
            tags += ["unsafe:authored", f"unsafe_kind:{'blatant' if safety == 1 else 'subtle'}"]
        out.append({
            "id": f"authored-{row.id}",
            "context": list(row.context),
            "reply": row.reply,
            "scores": dict(row.scores),
            "split": "heldout" if row.situation in held else "train",
            "tags": tags,
            "context_source": "authored",
        })  # fmt: skip
    files = sorted({r.author for r in rows})
    provenance = {
        "rows": len(out),
        "heldout": sum(1 for r in out if r["split"] == "heldout"),
        "authors": dict(sorted(Counter(r.author for r in rows).items())),
        "kinds": dict(sorted(Counter(r.kind for r in rows).items())),
        "safety": dict(sorted(Counter(str(r.scores["Safety"]) for r in rows).items())),
        "files_sha256": {
            f: hashlib.sha256((Path(directory) / f"{f}.jsonl").read_bytes()).hexdigest() for f in files
        },
    }  # fmt: skip
    return out, provenance
