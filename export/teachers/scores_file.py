"""A teacher read from a file of per-row scores: clinician ratings, or a big judge run elsewhere."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from export.dataset import CorpusRow
from export.errors import TeacherError
from export.teachers.base import TeacherLabels, expected_score, smooth_scores
from export.teachers.construction import DEFAULT_WIDTH
from sidecar.domain import DIMENSIONS

_FORMATS = (
    "CSV with a header 'id,Guidance,Informativeness,Relevance,Safety,Empathy,Helpfulness,Understanding', "
    "or JSONL lines {\"id\": ..., \"scores\": {dimension: 1-5}} and/or {\"probs\": {dimension: [p1..p5]}}"
)


class ScoresFileTeacher:
    """Labels rows from a scores file keyed by row id.

    Scores may be fractional (a judge's mean); they become narrow soft labels like the construction
    teacher's. A JSONL file may instead give each dimension's distribution over levels 1-5 (``probs``),
    which is used as is: that is how soft labels from a large judge run elsewhere come in.
    """

    def __init__(self, path: str | Path, width: float = DEFAULT_WIDTH) -> None:
        self.path = Path(path)
        self.width = width
        self.name = f"scores-file({self.path.name})"
        self._probs, self._expected = self._read()

    def label(self, rows: Sequence[CorpusRow]) -> TeacherLabels:
        if not rows:
            raise TeacherError("no rows to label: the corpus is empty; build one with `python -m export corpus`")
        missing = [r.id for r in rows if r.id not in self._expected]
        if missing:
            raise TeacherError(
                f"{self.path}: no scores for corpus row {missing[0]!r} ({len(missing)} of {len(rows)} rows "
                "missing); score every row of the corpus, or use the corpus the file was made for"
            )
        return TeacherLabels(
            ids=tuple(r.id for r in rows),
            probs=np.stack([self._probs[r.id] for r in rows]),
            expected=np.stack([self._expected[r.id] for r in rows]),
            teacher=self.name,
            details={"kind": "scores-file", "file": str(self.path), "width": self.width},
        )

    # --- reading ------------------------------------------------------------------------------------

    def _read(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        if not self.path.is_file():
            raise TeacherError(f"scores file {self.path} does not exist; pass an existing file ({_FORMATS})")
        suffix = self.path.suffix.lower()
        if suffix == ".csv":
            entries = self._read_csv()
        elif suffix in (".jsonl", ".json"):
            entries = self._read_jsonl()
        else:
            raise TeacherError(f"scores file {self.path}: unknown extension {suffix!r}; use .csv or .jsonl ({_FORMATS})")
        if not entries:
            raise TeacherError(f"scores file {self.path} has no score rows; {_FORMATS}")
        probs: dict[str, np.ndarray] = {}
        expected: dict[str, np.ndarray] = {}
        for row_id, (where, scores, dists) in entries.items():
            if dists is not None:
                probs[row_id] = dists
                expected[row_id] = scores if scores is not None else expected_score(dists)
            else:
                probs[row_id] = smooth_scores(scores, self.width)  # type: ignore[arg-type]
                expected[row_id] = scores  # type: ignore[assignment]
        return probs, expected

    def _read_csv(self) -> dict[str, tuple[str, np.ndarray | None, np.ndarray | None]]:
        entries: dict[str, tuple[str, np.ndarray | None, np.ndarray | None]] = {}
        with self.path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames
            if not header:
                raise TeacherError(f"scores file {self.path} is empty; expected {_FORMATS}")
            header = [h.strip() for h in header]
            reader.fieldnames = header
            if "id" not in header:
                raise TeacherError(f"{self.path}:1: the header has no 'id' column (got: {', '.join(header)}); {_FORMATS}")
            self._check_dimension_names([h for h in header if h != "id"], f"{self.path}:1", "column")
            for lineno, record in enumerate(reader, start=2):
                where = f"{self.path}:{lineno}"
                if None in record:
                    raise TeacherError(f"{where}: more fields than the header has; fix the line")
                values = {d: record[d] for d in DIMENSIONS}
                self._add(entries, record["id"], where, self._scores(values, where), None)
        return entries

    def _read_jsonl(self) -> dict[str, tuple[str, np.ndarray | None, np.ndarray | None]]:
        entries: dict[str, tuple[str, np.ndarray | None, np.ndarray | None]] = {}
        with self.path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                where = f"{self.path}:{lineno}"
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as err:
                    raise TeacherError(f"{where}: not valid JSON ({err.msg}); fix the line ({_FORMATS})") from None
                if not isinstance(data, dict) or "id" not in data:
                    raise TeacherError(f"{where}: expected an object with an 'id'; {_FORMATS}")
                if "scores" not in data and "probs" not in data:
                    raise TeacherError(f"{where}: needs 'scores' or 'probs'; {_FORMATS}")
                scores = dists = None
                if "scores" in data:
                    scores = self._scores(self._mapping(data["scores"], where, "scores"), where)
                if "probs" in data:
                    dists = self._dists(self._mapping(data["probs"], where, "probs"), where)
                self._add(entries, data["id"], where, scores, dists)
        return entries

    def _mapping(self, value: object, where: str, key: str) -> dict:
        if not isinstance(value, dict):
            raise TeacherError(f"{where}: '{key}' must be an object keyed by dimension name; {_FORMATS}")
        self._check_dimension_names(list(value), where, f"'{key}' key")
        return value

    def _check_dimension_names(self, names: list[str], where: str, what: str) -> None:
        for name in names:
            if name not in DIMENSIONS:
                hint = next((d for d in DIMENSIONS if d.lower() == name.lower()), None)
                fix = f"did you mean {hint!r}? names are case-sensitive" if hint else "remove or rename it"
                raise TeacherError(
                    f"{where}: unknown dimension {what} {name!r} (known: {', '.join(DIMENSIONS)}); {fix}"
                )
        missing = [d for d in DIMENSIONS if d not in names]
        if missing:
            raise TeacherError(f"{where}: no {what} for {', '.join(missing)}; every dimension needs a score")

    def _scores(self, values: dict, where: str) -> np.ndarray:
        out = np.empty(len(DIMENSIONS), dtype=np.float32)
        for i, dim in enumerate(DIMENSIONS):
            raw = values[dim]
            try:
                if isinstance(raw, bool):
                    raise ValueError
                value = float(raw)
            except (TypeError, ValueError):
                raise TeacherError(f"{where}: score for {dim} is not a number (got: {raw!r}); fix the line") from None
            if not 1.0 <= value <= 5.0:
                raise TeacherError(
                    f"{where}: score for {dim} must be in [1, 5] (got: {raw!r}); fix the line or drop the row"
                )
            out[i] = value
        return out

    def _dists(self, values: dict, where: str) -> np.ndarray:
        out = np.empty((len(DIMENSIONS), 5), dtype=np.float32)
        for i, dim in enumerate(DIMENSIONS):
            raw = values[dim]
            try:
                dist = np.asarray(raw, dtype=np.float64)
            except (TypeError, ValueError):
                dist = np.empty(0)
            if dist.shape != (5,) or (dist < 0).any() or abs(dist.sum() - 1.0) > 1e-2:
                raise TeacherError(
                    f"{where}: probs for {dim} must be 5 non-negative numbers for levels 1-5 summing to 1 "
                    f"(got: {raw!r}); fix the line"
                )
            out[i] = dist / dist.sum()
        return out

    def _add(self, entries: dict, row_id: object, where: str, scores: np.ndarray | None, dists: np.ndarray | None) -> None:
        key = str(row_id).strip()
        if not key:
            raise TeacherError(f"{where}: empty id; every line needs the corpus row id it scores")
        if key in entries:
            raise TeacherError(f"{where}: duplicate id {key!r} (first at {entries[key][0]}); keep one line per row")
        entries[key] = (where, scores, dists)
