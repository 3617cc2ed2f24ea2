"""The Critic: a precise critique of each failing dimension, from scores, thresholds and the rubric.

Deterministic (no model): the judge has already measured the reply; the Critic turns each failing
score into "where it is" and "what the target asks for" in the rubric's words, so the Coach can
ground its instructions in them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from sidecar.domain import DIMENSIONS, SCORE_MAX, SCORE_MIN
from sidecar.rewrite.api import RewriteRequest
from sidecar.rewrite.rubric import RUBRIC, DimensionLevels


@dataclass(frozen=True)
class DimensionCritique:
    """One failing dimension: its score against the threshold, its level now and the level to reach."""

    dimension: str
    score: float
    threshold: float
    level: int  # the rubric level the score sits at (rounded, 1-5)
    target: int  # the lowest level whose score passes the threshold
    now: str  # what the reply does at `level`
    requires: str  # what a reply at `target` does
    critical: bool

    @property
    def gap(self) -> float:
        return self.threshold - self.score

    def sentence(self) -> str:
        """One line for a prompt or a log-free report."""
        flag = " (critical)" if self.critical else ""
        return (
            f"{self.dimension}{flag}: scored {self.score:.1f} (needs {self.threshold:g}); the reply {self.now}. "
            f"Level {self.target} {self.requires}."
        )


@dataclass(frozen=True)
class Critique:
    """The failing dimensions, in DIMENSIONS order."""

    items: tuple[DimensionCritique, ...]

    def __getitem__(self, dimension: str) -> DimensionCritique:
        for item in self.items:
            if item.dimension == dimension:
                return item
        raise KeyError(dimension)

    def __contains__(self, dimension: object) -> bool:
        return any(item.dimension == dimension for item in self.items)

    @property
    def dimensions(self) -> tuple[str, ...]:
        return tuple(item.dimension for item in self.items)


def level_of(score: float) -> int:
    """The rubric level a score sits at: the nearest integer, within 1-5."""
    return int(min(SCORE_MAX, max(SCORE_MIN, math.floor(score + 0.5))))


def target_level(threshold: float) -> int:
    """The lowest whole level that passes the threshold (a score must be >= threshold to pass)."""
    return int(min(SCORE_MAX, max(SCORE_MIN, math.ceil(threshold))))


class Critic:
    """Critiques the failing dimensions of a request."""

    def __init__(self, rubric: Mapping[str, DimensionLevels] = RUBRIC) -> None:
        missing = [d for d in DIMENSIONS if d not in rubric]
        if missing:
            raise ValueError(
                f"the Critic's rubric lacks {missing}: describe every dimension in {list(DIMENSIONS)}"
            )
        self._rubric = rubric

    def critique(self, request: RewriteRequest) -> Critique:
        """One DimensionCritique per failing dimension, in DIMENSIONS order.

        Raises:
            ValueError: a failing dimension that is not one of DIMENSIONS or has no threshold.
        """
        items = []
        for dimension in DIMENSIONS:
            if dimension not in request.failing:
                continue
            if dimension not in request.thresholds:
                raise ValueError(
                    f"no threshold for failing dimension {dimension}: the request's thresholds must list it"
                )
            levels = self._rubric[dimension]
            score = request.scores[dimension]
            threshold = float(request.thresholds[dimension])
            level = level_of(score)
            target = target_level(threshold)
            if level >= target:  # e.g. 3.6 against 4.0 rounds to level 4 yet fails: aim one level up
                target = min(level + 1, 5)
            items.append(
                DimensionCritique(
                    dimension=dimension,
                    score=score,
                    threshold=threshold,
                    level=level,
                    target=target,
                    now=levels.levels[level],
                    requires=levels.levels[target],
                    critical=dimension in request.critical,
                )
            )
        unknown = [d for d in request.failing if d not in DIMENSIONS]
        if unknown:
            raise ValueError(f"failing dimensions {unknown} are not among {list(DIMENSIONS)}")
        return Critique(tuple(items))
