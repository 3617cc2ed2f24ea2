"""OnePassRewriteRunner: exactly one Critic -> Coach -> Therapist pass, bounded, always re-scored.

The bounds live here, not in the steps: a total token budget for the pass, and a wall-clock budget
that ends ``rescore_margin_s`` before the caller's deadline so the re-score still fits. The model runs
in a worker thread; if it overruns, the runner returns without a revision while the thread stops at
its own deadline check. Model errors and timeouts come back as outcomes, never as exceptions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from sidecar.rewrite.api import RewriteOutcome, RewriteRequest, ScoreFn
from sidecar.rewrite.backend import BackendError, BackendTimeout
from sidecar.rewrite.coach import Coach
from sidecar.rewrite.critic import Critic
from sidecar.rewrite.therapist import Revision, Therapist

_log = logging.getLogger("theraguard.rewrite")
T = TypeVar("T")
# Kept back from the deadline for the re-score (one judge call, ~10-30 ms on CPU, plus batching).
DEFAULT_RESCORE_MARGIN_S = 0.15
# Below this much generation time there is no point starting the model.
MIN_GENERATION_S = 0.05
# Threads that wait on the backend (a lock, a pipe, an HTTP call): the runner's own, so rewrites queued
# behind the one model never take the threads other work in the process relies on.
WAIT_THREADS = 8


class OnePassRewriteRunner:
    """Implements ``sidecar.rewrite.api.RewriteRunner``."""

    def __init__(
        self,
        critic: Critic,
        coach: Coach,
        therapist: Therapist,
        max_new_tokens: int,
        *,
        rescore_margin_s: float = DEFAULT_RESCORE_MARGIN_S,
    ) -> None:
        if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be a positive integer (got: {max_new_tokens!r})")
        if not 0 <= rescore_margin_s < 60:
            raise ValueError(f"rescore_margin_s must be in [0, 60) seconds (got: {rescore_margin_s})")
        self.critic = critic
        self.coach = coach
        self.therapist = therapist
        self.max_new_tokens = max_new_tokens
        self.rescore_margin_s = rescore_margin_s
        self.passes = 0  # completed passes, for tests and metrics: one per run() that reached the Therapist
        self._executor = ThreadPoolExecutor(max_workers=WAIT_THREADS, thread_name_prefix="theraguard-rewrite")

    @property
    def model(self) -> str:
        return self.therapist.name

    def close(self) -> None:
        """Release the backend (stops the local model's worker process); the runner is unusable after."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        close = getattr(self.therapist.backend, "close", None)
        if callable(close):
            close()

    async def run(self, request: RewriteRequest, score: ScoreFn) -> RewriteOutcome:
        timings: dict[str, float] = {}

        def outcome(reason: str, revision: str | None = None, scores=None) -> RewriteOutcome:
            return RewriteOutcome(revision, scores, reason, dict(timings), self.model)

        try:
            critique = _timed(timings, "critic", lambda: self.critic.critique(request))
            plan = _timed(timings, "coach", lambda: self.coach.plan(critique, request.context, request.reply))
        except ValueError as err:
            _log.error("rewrite_plan_failed", extra={"error_type": type(err).__name__})
            return outcome("rewriter_error")

        generate_until = request.deadline - self.rescore_margin_s
        left = generate_until - time.monotonic()
        if left < MIN_GENERATION_S:
            return outcome("rewrite_timeout")
        started = time.perf_counter()
        self.passes += 1
        try:
            revise = partial(
                self.therapist.revise,
                plan,
                request.context,
                request.reply,
                self.max_new_tokens,
                generate_until,
            )
            loop = asyncio.get_running_loop()
            revision: Revision = await asyncio.wait_for(
                loop.run_in_executor(self._executor, revise), timeout=left
            )
        except (TimeoutError, BackendTimeout):
            timings["therapist"] = _ms(started)
            return outcome("rewrite_timeout")
        except (BackendError, ValueError) as err:
            timings["therapist"] = _ms(started)
            _log.error("rewriter_failed", extra={"error_type": type(err).__name__})
            return outcome("rewriter_error")
        timings["therapist"] = _ms(started)
        if revision.text is None:
            return outcome(revision.reason)

        rescore_started = time.perf_counter()
        try:
            left = request.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            scores_after = await asyncio.wait_for(score(request.context, revision.text), timeout=left)
        except TimeoutError:
            timings["rescore"] = _ms(rescore_started)
            return outcome("rewrite_timeout")  # an unscored revision never ships
        except Exception as err:  # noqa: BLE001 - the judge failing on the revision degrades to the fallback
            timings["rescore"] = _ms(rescore_started)
            _log.error("rewrite_rescore_failed", extra={"error_type": type(err).__name__})
            return outcome("rewriter_error")
        timings["rescore"] = _ms(rescore_started)
        return outcome(revision.reason, revision.text, scores_after)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _timed(timings: dict[str, float], step: str, fn: Callable[[], T]) -> T:
    started = time.perf_counter()
    try:
        return fn()
    finally:
        timings[step] = _ms(started)
