"""The contract between the guard flow and the rewrite runner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sidecar.domain import Scores, Turn

# Scores a (context, reply) pair with the same judge that scored the original.
ScoreFn = Callable[[Sequence[Turn], str], Awaitable[Scores]]


@dataclass(frozen=True)
class RewriteRequest:
    """Everything one rewrite pass needs; the runner owns the bounds."""

    context: tuple[Turn, ...]
    reply: str
    scores: Scores
    thresholds: Mapping[str, float]  # per dimension, 1-5
    failing: tuple[str, ...]  # dimensions below threshold, in DIMENSIONS order
    critical: tuple[str, ...]  # dimensions that can never ship failing
    deadline: float  # time.monotonic() by which the runner must have returned


@dataclass(frozen=True)
class RewriteOutcome:
    """What the single pass produced; the caller decides what ships from it."""

    revision: str | None  # None when no revision could be produced in time
    scores_after: Scores | None  # always set when revision is set: the revision is re-scored
    reason: str  # e.g. "rewritten", "rewrite_timeout", "rewriter_error", "budget_exhausted"
    timings_ms: Mapping[str, float] = field(default_factory=dict)  # critic, coach, therapist, rescore
    model: str = ""  # rewriter model name/version, for the response's versions


class RewriteRunner(Protocol):
    """Runs exactly one Critic -> Coach -> Therapist pass, bounded by tokens and the deadline."""

    async def run(self, request: RewriteRequest, score: ScoreFn) -> RewriteOutcome:
        """Never raises for model errors or timeouts: those come back as an outcome with no revision."""
        ...
