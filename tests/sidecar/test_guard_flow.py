"""The Guard flow's rules, end to end over gRPC with the real judge, plus the ship-or-fallback table.

Named test policies pin each branch regardless of what the judge thinks of the text: a threshold of 5
fails (practically) every reply, a threshold of 1 passes every reply. The rewrite runner here is a
scripted implementation of the RewriteRunner protocol (the real one is tested in tests/sidecar/rewrite);
it re-scores its revision with the real judge through the ScoreFn it is given, as the contract requires.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
import pytest
import yaml
from sidecar_harness import POLICY_FILE, RunningSidecar, sidecar_config

from sidecar.domain import DIMENSIONS, Scores, Turn
from sidecar.guard import after_rewrite
from sidecar.messages import Action, GuardResult
from sidecar.pb import guardrail_pb2 as pb
from sidecar.pb import guardrail_pb2_grpc as pb_grpc
from sidecar.policy import decide, parse_policies
from sidecar.rewrite.api import RewriteOutcome, RewriteRequest, ScoreFn

REVISION = "I'm really sorry you're feeling this way. You matter, and you don't have to face this alone."
ORIGINAL = "Honestly, just deal with it yourself."
CONTEXT = [pb.Turn(role=pb.ROLE_USER, text="Everything feels hopeless lately.")]


class ScriptedRunner:
    """Behaves as the reply's tag says: [raise], [hang], [unscored], else revises and re-scores."""

    def __init__(self) -> None:
        self.requests: list[RewriteRequest] = []

    async def run(self, request: RewriteRequest, score: ScoreFn) -> RewriteOutcome:
        self.requests.append(request)
        if "[raise]" in request.reply:
            raise RuntimeError("model crashed")
        if "[hang]" in request.reply:
            await asyncio.sleep(3600)
        if "[unscored]" in request.reply:
            return RewriteOutcome(REVISION, None, "rewritten", model="scripted")
        started = time.perf_counter()
        after = await score(request.context, REVISION)
        return RewriteOutcome(
            REVISION, after, "rewritten", {"rescore": (time.perf_counter() - started) * 1000}, "scripted"
        )


def _policy(name: str, *, base: float = 1.0, **changes: object) -> dict:
    data = yaml.safe_load(POLICY_FILE.read_text())["policies"]["default"]
    thresholds = {d: base for d in DIMENSIONS}
    thresholds.update(changes.pop("thresholds", {}))  # type: ignore[arg-type]
    return {**data, "thresholds": thresholds, **changes}


POLICIES = {
    "default_policy": "critical",
    "policies": {
        "critical": _policy("critical", thresholds={"Safety": 5.0}),
        "noncritical": _policy("noncritical", thresholds={"Empathy": 5.0}),
        "pass": _policy("pass"),
        "shadow": _policy("shadow", thresholds={"Safety": 5.0}, shadow=True),
        "block": _policy("block", thresholds={"Safety": 5.0}, on_failure="block"),
        "flag": _policy(
            "flag", thresholds={"Empathy": 5.0}, on_failure="flag", actions={"Safety": "rewrite"}
        ),
        "override": _policy("override", overridable=["Empathy"]),
    },
}


@pytest.fixture(scope="module")
def flow(judge_bundle: Path, captured_logs, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("flow")
    policy = tmp / "policy.yaml"
    policy.write_text(yaml.safe_dump(POLICIES))
    runner = ScriptedRunner()
    running = RunningSidecar(sidecar_config(tmp, policy=policy), runner=runner)
    yield running, pb_grpc.GuardrailStub(running.channel()), runner
    running.close()


def _guard(
    stub: pb_grpc.GuardrailStub, reply: str, policy: str, timeout: float = 10, **kw: object
) -> GuardResult:
    return GuardResult.from_pb(
        stub.Guard(pb.GuardRequest(context=CONTEXT, reply=reply, policy=policy, **kw), timeout=timeout)
    )


def test_critical_failure_is_rewritten_and_rescored_never_passed(flow) -> None:
    _, stub, runner = flow
    result = _guard(stub, ORIGINAL, "critical")
    request = runner.requests[-1]
    assert request.failing == ("Safety",) and request.critical == ("Safety",) and request.reply == ORIGINAL
    assert request.context == (Turn(request.context[0].role, CONTEXT[0].text),)
    assert result.action is not Action.PASS and result.reply != ORIGINAL
    assert len(result.scores_after) == 7  # the revision was re-scored by the real judge
    safety_after = next(s for s in result.scores_after if s.dimension == "Safety")
    if safety_after.passed:
        assert (result.action, result.reply, result.reason) == (Action.REWRITTEN, REVISION, "rewrite_passed")
    else:
        assert (result.action, result.reason) == (Action.FALLBACK, "critical_failed_after_rewrite")
    assert result.versions.rewriter == "scripted"
    assert {"judge", "rewrite", "rescore", "total"} <= {step for step, _ in result.timings}


@pytest.mark.parametrize(
    ("tag", "reason"),
    [("[raise]", "rewriter_error"), ("[unscored]", "rewrite_unscored")],
    ids=["runner_raises", "revision_not_rescored"],
)
def test_rewriter_faults_fall_back_for_critical_failures(flow, tag: str, reason: str) -> None:
    _, stub, _ = flow
    result = _guard(stub, f"{ORIGINAL} {tag}", "critical")
    fallback = POLICIES["policies"]["critical"]["fallback_reply"]
    assert (result.action, result.reply, result.reason) == (Action.FALLBACK, fallback, reason)


def test_hanging_rewriter_falls_back_inside_the_callers_deadline(flow) -> None:
    _, stub, _ = flow
    started = time.monotonic()
    result = _guard(stub, f"{ORIGINAL} [hang]", "critical", timeout=1.0)
    assert time.monotonic() - started < 1.0
    assert (result.action, result.reason) == (Action.FALLBACK, "rewrite_timeout")


def test_no_time_left_for_a_rewrite_goes_straight_to_fallback(flow) -> None:
    _, stub, runner = flow
    before = len(runner.requests)
    # Enough time to score (~10 ms), not enough to start a rewrite (the runner would hang).
    try:
        result = _guard(stub, f"{ORIGINAL} [hang]", "critical", timeout=0.055)
    except grpc.RpcError as err:  # on a busy machine even the scoring may miss 55 ms
        assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        return
    assert result.action is Action.FALLBACK and result.reason in {"rewrite_no_time", "rewrite_timeout"}
    if result.reason == "rewrite_no_time":
        assert len(runner.requests) == before


@pytest.mark.parametrize(
    ("policy", "action", "reply", "reason"),
    [
        ("pass", Action.PASS, ORIGINAL, "passed"),
        ("block", Action.BLOCKED, "", "blocked"),
        ("flag", Action.FLAGGED, ORIGINAL, "flagged"),
    ],
    ids=["all_pass", "block_policy", "flag_policy"],
)
def test_policy_actions(flow, policy: str, action: Action, reply: str, reason: str) -> None:
    _, stub, _ = flow
    result = _guard(stub, ORIGINAL, policy)
    assert (result.action, result.reply, result.reason) == (action, reply, reason)


def test_noncritical_failure_without_a_revision_ships_the_original_flagged(flow) -> None:
    _, stub, _ = flow
    result = _guard(stub, f"{ORIGINAL} [raise]", "noncritical")
    assert (result.action, result.reply, result.reason) == (
        Action.FLAGGED,
        f"{ORIGINAL} [raise]",
        "rewriter_error",
    )
    assert result.failed == ("Empathy",)


def test_shadow_mode_sends_the_original_and_reports_what_would_happen(flow) -> None:
    _, stub, _ = flow
    result = _guard(stub, f"{ORIGINAL} [raise]", "shadow")
    assert result.shadow and (result.action, result.reply) == (Action.PASS, f"{ORIGINAL} [raise]")
    fallback = POLICIES["policies"]["shadow"]["fallback_reply"]
    assert (result.shadow_action, result.shadow_reply) == (Action.FALLBACK, fallback)


def test_allowed_override_changes_the_verdict(flow) -> None:
    _, stub, _ = flow
    override = [pb.ThresholdOverride(dimension=pb.DIMENSION_EMPATHY, threshold=5.0)]
    result = _guard(stub, f"{ORIGINAL} [raise]", "override", overrides=override)
    assert result.failed == ("Empathy",) and result.action is Action.FLAGGED
    empathy = next(s for s in result.scores_before if s.dimension == "Empathy")
    assert empathy.threshold == 5.0 and not empathy.critical


# --- what ships after the one pass (pure decision table) ---------------------------------------------

_POLICY = parse_policies(POLICY_FILE.read_text()).get("")
SAFE, UNSAFE = 4.5, 2.0


def _scores(safety: float, empathy: float = 4.5) -> Scores:
    values = {d: 4.5 for d in DIMENSIONS} | {"Safety": safety, "Empathy": empathy}
    return Scores(tuple(values[d] for d in DIMENSIONS))


SHIP_TABLE = [
    # (id, original scores, revision scores or None, action, sends, reason)
    ("revision_passes_all", _scores(UNSAFE), _scores(SAFE), Action.REWRITTEN, "revision", "rewrite_passed"),
    ("revision_safe_but_cold", _scores(UNSAFE), _scores(SAFE, 2.0), Action.FLAGGED, "revision", "rewrite_partial"),
    ("revision_still_unsafe", _scores(UNSAFE), _scores(UNSAFE), Action.FALLBACK, "fallback", "critical_failed_after_rewrite"),
    ("revision_unsafe_original_only_cold", _scores(SAFE, 2.0), _scores(UNSAFE), Action.FLAGGED, "original", "rewrite_not_better"),
    ("no_revision_unsafe", _scores(UNSAFE), None, Action.FALLBACK, "fallback", "rewrite_timeout"),
    ("no_revision_only_cold", _scores(SAFE, 2.0), None, Action.FLAGGED, "original", "rewrite_timeout"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("before", "after", "action", "sends", "reason"),
    [r[1:] for r in SHIP_TABLE],
    ids=[r[0] for r in SHIP_TABLE],
)
def test_what_ships_after_the_rewrite(
    before: Scores, after: Scores | None, action: Action, sends: str, reason: str
) -> None:
    outcome = RewriteOutcome(
        "the revision" if after else None, after, "rewritten" if after else "rewrite_timeout"
    )
    got_action, reply, got_reason, _ = after_rewrite(
        "the original", decide(before, _POLICY), outcome, _POLICY
    )
    expected = {"revision": "the revision", "original": "the original", "fallback": _POLICY.fallback_reply}[
        sends
    ]
    assert (got_action, reply, got_reason) == (action, expected, reason)
    # The invariant behind every row: a reply failing a critical dimension never ships.
    if reply == "the original":
        assert before["Safety"] >= _POLICY.thresholds["Safety"]
    if reply == "the revision":
        assert after is not None and after["Safety"] >= _POLICY.thresholds["Safety"]
