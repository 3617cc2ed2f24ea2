"""The default teacher: the corpus's own construction labels, smoothed into narrow soft labels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from export.dataset import CorpusRow
from export.errors import TeacherError
from export.teachers.base import TeacherLabels, smooth_scores
from sidecar.domain import DIMENSIONS

DEFAULT_WIDTH = 0.35


class ConstructionLabelTeacher:
    """Turns each row's integer construction scores into narrow distributions over levels 1-5.

    The expected score stays the integer itself: the student is asked to say 5 for a reply built as a 5.
    The narrow spread (std ``width`` levels) tells the student that a neighbouring level is a small
    mistake and a far one a big mistake.
    """

    def __init__(self, width: float = DEFAULT_WIDTH) -> None:
        if not 0.05 <= width <= 2.0:
            raise TeacherError(f"construction label width must be in [0.05, 2.0] levels (got: {width})")
        self.width = width
        self.name = f"construction-labels(width={width})"

    def label(self, rows: Sequence[CorpusRow]) -> TeacherLabels:
        if not rows:
            raise TeacherError("no rows to label: the corpus is empty; build one with `python -m export corpus`")
        unlabelled = [r.id for r in rows if r.scores is None]
        if unlabelled:
            raise TeacherError(
                f"row {unlabelled[0]!r} has no 'scores' ({len(unlabelled)} rows lack them): the construction "
                "teacher needs a corpus with construction labels; use --teacher scores-file:PATH or llm:DIR"
            )
        scores = np.array([[r.scores[d] for d in DIMENSIONS] for r in rows], dtype=np.float32)  # type: ignore[index]
        return TeacherLabels(
            ids=tuple(r.id for r in rows),
            probs=smooth_scores(scores, self.width),
            expected=scores,
            teacher=self.name,
            details={"kind": "construction", "width": self.width},
        )
