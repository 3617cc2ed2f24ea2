"""The guard flow: score -> decide -> (one bounded rewrite or the fallback) -> what to send.

Rules that hold on every path (DESIGN.md):
- a reply failing a critical dimension is never sent as PASS (nor as FLAGGED): it is rewritten and
  re-scored, or replaced by the policy's vetted fallback;
- shadow mode sends the original but reports what would have happened;
- failure types (judge unavailable, overload) fail open or closed as the policy says; a missing or
  failing rewriter always falls back for critical failures.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sidecar.batcher import MicroBatcher, ScoredPair
from sidecar.config import RewriterConfig
from sidecar.domain import DIMENSIONS, Scores, Turn
from sidecar.errors import DeadlineExceeded, InvalidRequest, JudgeUnavailable, Overloaded
from sidecar.messages import Action, CheckRequest, DimensionResult, GuardResult, ScoreResult, VersionInfo
from sidecar.policy import Decision, Policy, PolicySet, PolicyStore, Verdict, decide
from sidecar.rewrite.api import RewriteOutcome, RewriteRequest, RewriteRunner
from sidecar.steering import strip_judge_directed

_log = logging.getLogger("theraguard.guard")
# Without a caller deadline the rewrite still gets a bound.
DEFAULT_REWRITE_SECONDS = 10.0
# Below this much time left there is no point starting a rewrite: go straight to fallback/flag.
MIN_REWRITE_SECONDS = 0.05
# Kept back from the caller's deadline to build and send the response: 5 % of what is left, 10-50 ms.
RESPONSE_RESERVE = (0.05, 0.01, 0.05)


class NoRewriteRunner:
    """A RewriteRunner that never produces a revision (rewriter disabled or not installed)."""

    def __init__(self, reason: str = "rewriter_unavailable", model: str = "") -> None:
        self.reason = reason
        self.model = model

    async def run(self, request: RewriteRequest, score: object) -> RewriteOutcome:
        return RewriteOutcome(revision=None, scores_after=None, reason=self.reason, model=self.model)


def build_rewrite_runner(config: RewriterConfig) -> RewriteRunner:
    """The configured runner; ``NoRewriteRunner`` when disabled or the rewrite package is absent.

    A configured backend that fails to build is fatal (raised): a missing model stops start-up.
    """
    if config.backend == "none":
        _log.info("rewriter_disabled", extra={"backend": "none"})
        return NoRewriteRunner("rewriter_disabled")
    if importlib.util.find_spec("sidecar.rewrite.factory") is None:
        _log.warning("rewriter_not_installed", extra={"backend": config.backend})
        return NoRewriteRunner("rewriter_unavailable")
    from sidecar.rewrite.factory import build_runner

    runner = build_runner(config)
    return runner if runner is not None else NoRewriteRunner("rewriter_disabled")


@dataclass(frozen=True)
class _Scored:
    scores: Scores
    timings: tuple[tuple[str, float], ...]


class Guard:
    """Scores and guards replies; the servicer's only collaborator."""

    def __init__(
        self,
        batcher: MicroBatcher,
        policies: PolicyStore,
        runner: RewriteRunner,
        *,
        judge_version: str,
        execution_provider: str,
        on_judge_directed: Callable[[int], object] | None = None,
    ) -> None:
        self._on_judge_directed = on_judge_directed or (lambda _count: None)
        self._batcher = batcher
        self._policies = policies
        self._runner = runner
        self._judge_version = judge_version
        self._provider = execution_provider

    # --- Score / BulkScore --------------------------------------------------------------------------

    async def score(self, call: CheckRequest, deadline: float | None) -> ScoreResult:
        return (await self.score_many([call], deadline))[0]

    async def score_many(
        self, calls: Sequence[CheckRequest], deadline: float | None, *, bulk: bool = False
    ) -> list[ScoreResult]:
        """Score calls together; ``bulk`` names a bad item by its index ("items[3].policy: ...")."""
        policies = self._policies.current
        resolved = []
        for index, call in enumerate(calls):  # a bad policy or override fails the call before any work
            try:
                resolved.append(self._resolve(policies, call))
            except InvalidRequest as err:
                raise InvalidRequest(f"items[{index}].{err}" if bulk else str(err)) from None
        scored = await self._score_pairs([(c.context, c.reply) for c in calls], deadline)
        results = []
        for call, (policy, thresholds), item in zip(calls, resolved, scored):
            decision = decide(item.scores, policy, thresholds)
            results.append(
                ScoreResult(
                    scores=_dimension_results(item.scores, decision),
                    versions=self._versions(policies, policy),
                    timings=item.timings,
                    request_id=call.request_id,
                )
            )
        return results

    # --- Guard ---------------------------------------------------------------------------------------

    async def guard(self, call: CheckRequest, deadline: float | None) -> GuardResult:
        started = time.perf_counter()
        policies = self._policies.current
        policy, thresholds = self._resolve(policies, call)
        versions = self._versions(policies, policy)
        try:
            (scored,) = await self._score_pairs([(call.context, call.reply)], deadline)
        except (JudgeUnavailable, Overloaded) as err:
            fail_open = (
                policy.fail_open.judge_unavailable
                if isinstance(err, JudgeUnavailable)
                else policy.fail_open.overload
            )
            if not fail_open:
                raise
            reason = (
                "judge_unavailable_fail_open" if isinstance(err, JudgeUnavailable) else "overload_fail_open"
            )
            return GuardResult(Action.FLAGGED, call.reply, reason, versions, request_id=call.request_id)

        decision = decide(scored.scores, policy, thresholds)
        before = _dimension_results(scored.scores, decision)
        timings = list(scored.timings)
        after: tuple[DimensionResult, ...] = ()
        rewriter = ""

        if decision.verdict is Verdict.PASS:
            action, reply, reason = Action.PASS, call.reply, "passed"
        elif decision.verdict is Verdict.BLOCK:
            action, reply, reason = Action.BLOCKED, "", "blocked"
        elif decision.verdict is Verdict.FLAG:
            action, reply, reason = Action.FLAGGED, call.reply, "flagged"
        else:
            outcome = await self._rewrite(call, scored.scores, decision, deadline)
            rewriter = outcome.model
            timings.extend((step, ms) for step, ms in outcome.timings_ms.items())
            action, reply, reason, after_decision = after_rewrite(call.reply, decision, outcome, policy)
            if outcome.scores_after is not None and after_decision is not None:
                after = _dimension_results(outcome.scores_after, after_decision)

        timings.append(("total", (time.perf_counter() - started) * 1000))
        versions = VersionInfo(versions.judge, versions.policy, versions.execution_provider, rewriter)
        if policy.shadow:
            return GuardResult(
                Action.PASS, call.reply, reason, versions, before, after,
                shadow=True, shadow_action=action, shadow_reply=reply,
                timings=tuple(timings), request_id=call.request_id,
            )  # fmt: skip
        return GuardResult(
            action, reply, reason, versions, before, after, timings=tuple(timings), request_id=call.request_id
        )

    async def _rewrite(
        self, call: CheckRequest, scores: Scores, decision: Decision, deadline: float | None
    ) -> RewriteOutcome:
        now = time.monotonic()
        if deadline is None:
            until = now + DEFAULT_REWRITE_SECONDS
        else:
            share, low, high = RESPONSE_RESERVE
            until = deadline - min(max((deadline - now) * share, low), high)
        if until - now < MIN_REWRITE_SECONDS:
            return RewriteOutcome(None, None, "rewrite_no_time")
        request = RewriteRequest(
            context=tuple(call.context),
            reply=call.reply,
            scores=scores,
            thresholds=dict(zip(DIMENSIONS, decision.thresholds)),
            failing=decision.failing,
            critical=decision.critical,
            deadline=until,
        )

        async def rescore(context: Sequence[Turn], reply: str) -> Scores:
            (item,) = await self._score_pairs([(context, reply)], deadline)
            return item.scores

        started = time.perf_counter()
        try:
            # The runner owns its bounds; this is the backstop should it overrun them.
            outcome = await asyncio.wait_for(
                self._runner.run(request, rescore), timeout=max(0.0, until - now)
            )
        except TimeoutError:
            outcome = RewriteOutcome(None, None, "rewrite_timeout")
        except Exception as err:  # noqa: BLE001 - a failing rewriter degrades to the fallback, never the original
            _log.error(
                "rewriter_failed", extra={"error_type": type(err).__name__, "request_id": call.request_id}
            )
            outcome = RewriteOutcome(None, None, "rewriter_error")
        if outcome.revision is not None and outcome.scores_after is None:
            # Contract breach: an unscored revision never ships.
            outcome = RewriteOutcome(None, None, "rewrite_unscored", outcome.timings_ms, outcome.model)
        timings = dict(outcome.timings_ms)
        timings["rewrite"] = (time.perf_counter() - started) * 1000
        return RewriteOutcome(outcome.revision, outcome.scores_after, outcome.reason, timings, outcome.model)

    # --- shared --------------------------------------------------------------------------------------

    async def _score_pairs(
        self, pairs: list[tuple[Sequence[Turn], str]], deadline: float | None
    ) -> list[_Scored]:
        """Score pairs; a pair carrying text aimed at the judge gets its lower score with that text removed.

        A fake verdict in a reply, or an order to the judge in a user's turn, can raise the judge's
        scores (sidecar/steering.py); the lower of the two per dimension means such text can only cost
        a reply. The extra row costs one judge pass, only for pairs that carry it.
        """
        stripped = [(i, _without_judge_directed(context, reply)) for i, (context, reply) in enumerate(pairs)]
        extra = [(i, alt) for i, alt in stripped if alt != (tuple(pairs[i][0]), pairs[i][1]) and alt[1]]
        scored = await self._score_raw([*pairs, *(alt for _, alt in extra)], deadline)
        out = scored[: len(pairs)]
        for (i, _), alt in zip(extra, scored[len(pairs) :]):
            low = tuple(min(a, b) for a, b in zip(out[i].scores.values, alt.scores.values))
            out[i] = _Scored(Scores(low), out[i].timings)
        if extra:
            self._on_judge_directed(len(extra))
        return out

    async def _score_raw(
        self, pairs: list[tuple[Sequence[Turn], str]], deadline: float | None
    ) -> list[_Scored]:
        started = time.perf_counter()
        work = self._batcher.score(pairs)
        if deadline is None:
            scored: list[ScoredPair] = await work
        else:
            left = deadline - time.monotonic()
            if left <= 0:
                work.close()
                raise DeadlineExceeded("the deadline passed before the judge could start; allow more time")
            try:
                # asyncio.timeout, unlike wait_for, wraps no extra task around the call.
                async with asyncio.timeout(left):
                    scored = await work
            except TimeoutError:
                waited = (time.perf_counter() - started) * 1000
                raise DeadlineExceeded(
                    f"the deadline passed after {waited:.0f} ms waiting for the judge; allow more time or retry"
                ) from None
        return [_Scored(s.scores, (("queue", s.queue_ms), ("judge", s.judge_ms))) for s in scored]

    def _resolve(self, policies: PolicySet, call: CheckRequest) -> tuple[Policy, tuple[float, ...]]:
        policy = policies.get(call.policy)
        return policy, policy.thresholds_with(call.overrides)

    def _versions(self, policies: PolicySet, policy: Policy) -> VersionInfo:
        return VersionInfo(self._judge_version, policies.version(policy), self._provider)


def _without_judge_directed(context: Sequence[Turn], reply: str) -> tuple[tuple[Turn, ...], str]:
    """The pair with judge-directed text removed from every turn and the reply (turns left empty go)."""
    turns = tuple(
        t if text == t.text else Turn(t.role, text) for t in context if (text := strip_judge_directed(t.text))
    )
    return turns, strip_judge_directed(reply)


def _dimension_results(scores: Scores, decision: Decision) -> tuple[DimensionResult, ...]:
    return tuple(
        DimensionResult(d, s, t, ok, d in decision.critical)
        for d, s, t, ok in zip(DIMENSIONS, scores.values, decision.thresholds, decision.passed)
    )


def after_rewrite(
    original: str, before: Decision, outcome: RewriteOutcome, policy: Policy
) -> tuple[Action, str, str, Decision | None]:
    """Choose what ships after the one pass: revision, the better of the two (flagged), or the fallback."""
    after = None
    if outcome.revision is not None and outcome.scores_after is not None:
        after = decide(outcome.scores_after, policy, before.thresholds)
        if not after.failing:
            return Action.REWRITTEN, outcome.revision, "rewrite_passed", after
        candidates: list[tuple[Decision, str, str]] = []
        if not after.critical_failing:
            candidates.append((after, outcome.revision, "rewrite_partial"))
        if not before.critical_failing:
            candidates.append((before, original, "rewrite_not_better"))
        if candidates:
            # Fewer failing dimensions wins; ties go to the revision (listed first).
            best = min(candidates, key=lambda c: len(c[0].failing))
            return Action.FLAGGED, best[1], best[2], after
        return Action.FALLBACK, policy.fallback_reply, "critical_failed_after_rewrite", after
    if before.critical_failing:
        return Action.FALLBACK, policy.fallback_reply, outcome.reason or "critical_failed", None
    return Action.FLAGGED, original, outcome.reason or "rewrite_failed", None
