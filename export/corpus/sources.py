"""Reading the shared MentalAlign files at build time (never copied into the project).

Credit: MentalBench-Align (Badawi et al., EACL 2026; MIT licence) for the user messages and the
clinician score table.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from sidecar.domain import DIMENSIONS

CONTEXTS_FILE = "mentalalign70k_contexts.csv"
SCORES_FILE = "mentalalign70k_human_scores.csv"


@dataclass(frozen=True)
class SharedData:
    """What the builder takes from the shared directory."""

    contexts: tuple[str, ...]  # real user messages
    clinician: tuple[tuple[int, ...], ...]  # valid clinician score rows, DIMENSIONS order
    sha256: dict[str, str]  # file name -> digest of the bytes read


def _read(path: Path) -> tuple[str, str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(
            f"cannot read {path}: {exc.strerror or exc}; restore the file or pass shared_dir=None "
            "to build from the built-in situations only"
        ) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text ({exc}); restore the original CSV file") from exc
    return text, hashlib.sha256(raw).hexdigest()


def _clean_message(text: str) -> str:
    # The CSV wraps many messages in an extra pair of quotes.
    text = text.strip()
    while len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    return " ".join(text.split())


def read_contexts(path: Path) -> tuple[tuple[str, ...], str]:
    """The user messages in the contexts CSV (columns conv_id, context) and the file's sha256."""
    text, digest = _read(path)
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None or "context" not in reader.fieldnames:
        raise ValueError(
            f"{path} has no 'context' column (found: {reader.fieldnames}); expected a CSV with header "
            "conv_id,context"
        )
    seen: set[str] = set()
    messages: list[str] = []
    for row in reader:
        message = _clean_message(row.get("context") or "")
        if len(message) >= 10 and message not in seen:  # too-short rows carry no situation
            seen.add(message)
            messages.append(message)
    if not messages:
        raise ValueError(f"{path} holds no usable user messages; restore the file or pass shared_dir=None")
    return tuple(messages), digest


def read_clinician_scores(path: Path) -> tuple[tuple[tuple[int, ...], ...], str]:
    """Valid rows of the clinician score table (blank, zero or out-of-range cells drop the row)."""
    text, digest = _read(path)
    reader = csv.DictReader(text.splitlines())
    missing = [d for d in DIMENSIONS if d not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(
            f"{path} lacks score columns {missing}; expected a header with conv_id, responder and the 7 "
            f"dimensions {list(DIMENSIONS)}"
        )
    rows: list[tuple[int, ...]] = []
    for row in reader:
        try:
            levels = tuple(int(row[d]) for d in DIMENSIONS)
        except (TypeError, ValueError):
            continue
        if all(1 <= x <= 5 for x in levels):
            rows.append(levels)
    if not rows:
        raise ValueError(f"{path} has no rows with all 7 scores in 1-5; restore the clinician score table")
    return tuple(rows), digest


def read_shared(shared_dir: Path) -> SharedData:
    """Read both shared files from the directory; errors name the file and the fix."""
    if not shared_dir.is_dir():
        raise ValueError(
            f"shared_dir {shared_dir} is not a directory; point it at ../shared/data/mentalalign or pass "
            "shared_dir=None to build from the built-in situations only"
        )
    contexts, c_digest = read_contexts(shared_dir / CONTEXTS_FILE)
    clinician, s_digest = read_clinician_scores(shared_dir / SCORES_FILE)
    return SharedData(contexts, clinician, {CONTEXTS_FILE: c_digest, SCORES_FILE: s_digest})
