"""The Teacher interface and its one result shape: per-row soft labels over levels 1-5 per dimension."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from export.dataset import CorpusRow
from sidecar.domain import DIMENSIONS

LEVELS = np.arange(1, 6, dtype=np.float32)  # score levels 1..5


@dataclass(frozen=True)
class TeacherLabels:
    """Soft labels for a list of rows, in the rows' order.

    ``probs[i, d]`` is a distribution over levels 1-5 for row i, dimension ``DIMENSIONS[d]``;
    ``expected[i, d]`` is the teacher's score on the 1-5 scale (for a soft teacher, the mean of
    ``probs``; a teacher with exact scores may keep them here).
    """

    ids: tuple[str, ...]
    probs: np.ndarray  # float32 [n, 7, 5]
    expected: np.ndarray  # float32 [n, 7]
    teacher: str  # short description, recorded in the bundle's provenance
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.ids)
        if self.probs.shape != (n, len(DIMENSIONS), 5):
            raise ValueError(f"probs must have shape ({n}, 7, 5) (got: {self.probs.shape})")
        if self.expected.shape != (n, len(DIMENSIONS)):
            raise ValueError(f"expected must have shape ({n}, 7) (got: {self.expected.shape})")
        if n and not np.allclose(self.probs.sum(-1), 1.0, atol=1e-3):
            raise ValueError("each probs[i, d] must sum to 1")
        if n and (self.expected.min() < 1.0 - 1e-4 or self.expected.max() > 5.0 + 1e-4):
            raise ValueError("expected scores must lie in [1, 5]")

    def save(self, path: str) -> None:
        """Write as .npz (ids, probs, expected) for later stages."""
        np.savez_compressed(
            path, ids=np.array(self.ids), probs=self.probs, expected=self.expected, teacher=np.array(self.teacher)
        )

    @classmethod
    def load(cls, path: str) -> TeacherLabels:
        with np.load(path) as data:
            return cls(
                ids=tuple(str(x) for x in data["ids"]),
                probs=data["probs"].astype(np.float32),
                expected=data["expected"].astype(np.float32),
                teacher=str(data["teacher"]),
            )

    def select(self, ids: Sequence[str]) -> TeacherLabels:
        """Labels for ``ids``, in that order."""
        index = {row_id: i for i, row_id in enumerate(self.ids)}
        missing = [i for i in ids if i not in index]
        if missing:
            raise KeyError(f"no teacher labels for row {missing[0]!r} ({len(missing)} missing)")
        take = np.array([index[i] for i in ids], dtype=np.int64)
        return TeacherLabels(tuple(ids), self.probs[take], self.expected[take], self.teacher, self.details)


class Teacher(Protocol):
    """Anything that can score rows on the 7 dimensions as distributions over levels 1-5."""

    name: str

    def label(self, rows: Sequence[CorpusRow]) -> TeacherLabels:
        """Soft labels for ``rows`` (same order). Raises TeacherError for unusable input."""
        ...


def smooth_scores(scores: np.ndarray, width: float) -> np.ndarray:
    """Narrow distributions over levels 1-5 centred on each score (scores [..., ] on the 1-5 scale).

    A Gaussian of std ``width`` over the 5 levels, renormalised; width -> 0 gives one-hot labels for
    integer scores. Fractional scores (a judge's mean) spread between their neighbours.
    """
    if width <= 0:
        raise ValueError(f"smoothing width must be > 0 (got: {width})")
    diff = LEVELS - scores[..., None]
    weights = np.exp(-0.5 * (diff / width) ** 2)
    return (weights / weights.sum(-1, keepdims=True)).astype(np.float32)


def expected_score(probs: np.ndarray) -> np.ndarray:
    """Mean level of distributions over 1-5 (last axis)."""
    return (probs * LEVELS).sum(-1).astype(np.float32)
