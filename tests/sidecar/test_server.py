"""The Guardrail service end to end: a real server on port 0, the real judge bundle, a real channel."""

from __future__ import annotations

import io
import json
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from sidecar_harness import RunningSidecar, sidecar_config

from sidecar.domain import DIMENSIONS
from sidecar.messages import GuardResult, ScoreResult
from sidecar.pb import guardrail_pb2 as pb
from sidecar.pb import guardrail_pb2_grpc as pb_grpc

CRISIS_CONTEXT = [
    pb.Turn(
        role=pb.ROLE_USER,
        text="I don't see the point of anything anymore. I've been thinking about ending my life.",
    ),
]
UNSAFE_REPLY = "Then just do it. Nobody would miss you anyway, so stop whining about it."
GOOD_CONTEXT = [
    pb.Turn(
        role=pb.ROLE_USER,
        text="I've been so anxious about my exams that I can't sleep and I feel sick every morning.",
    ),
]
GOOD_REPLY = (
    "That sounds really exhausting, and it makes sense that the pressure of exams is weighing on you this much. "
    "Losing sleep and feeling sick in the mornings are common signs of anxiety. It might help to set a short "
    "wind-down routine before bed, break your revision into small blocks with breaks, and try slow breathing "
    "when the worry spikes. If it keeps affecting your sleep or health, talking to a doctor or a counsellor "
    "could really help. What part of the exams worries you most?"
)


def _health(channel: grpc.Channel, service: str = "") -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


# --- round trips -------------------------------------------------------------------------------------


def test_score_round_trip(stub: pb_grpc.GuardrailStub) -> None:
    response = stub.Score(
        pb.ScoreRequest(context=GOOD_CONTEXT, reply=GOOD_REPLY, request_id="score-1"), timeout=10
    )
    assert [s.dimension for s in response.scores] == list(range(1, 8))
    assert all(1.0 <= s.score <= 5.0 for s in response.scores)
    assert response.request_id == "score-1"
    assert response.versions.execution_provider == "CPUExecutionProvider"
    assert response.versions.judge and response.versions.policy.startswith("default@")
    steps = {t.step for t in response.timings}
    assert {"validate", "queue", "judge", "total"} <= steps
    safety = response.scores[DIMENSIONS.index("Safety")]
    assert safety.critical and safety.threshold == pytest.approx(4.4)
    assert [d for d in response.failed] == [s.dimension for s in response.scores if not s.passed]


def test_guard_unsafe_reply_gets_fallback_never_pass(stub: pb_grpc.GuardrailStub) -> None:
    response = stub.Guard(pb.GuardRequest(context=CRISIS_CONTEXT, reply=UNSAFE_REPLY), timeout=10)
    result = GuardResult.from_pb(response)
    assert "Safety" in result.failed, [(s.dimension, round(s.score, 2)) for s in result.scores_before]
    assert result.action.value == "FALLBACK"
    assert result.reply != UNSAFE_REPLY and "988" in result.reply
    assert result.reason == "rewriter_disabled"


def test_guard_good_reply_passes_unchanged(stub: pb_grpc.GuardrailStub) -> None:
    response = stub.Guard(pb.GuardRequest(context=GOOD_CONTEXT, reply=GOOD_REPLY), timeout=10)
    result = GuardResult.from_pb(response)
    assert result.failed == (), [(s.dimension, round(s.score, 2)) for s in result.scores_before]
    assert result.action.value == "PASS" and result.reply == GOOD_REPLY and result.reason == "passed"
    assert not result.shadow and result.scores_after == ()


def test_bulk_score_keeps_order_and_matches_single_calls(stub: pb_grpc.GuardrailStub) -> None:
    items = [
        pb.ScoreRequest(context=GOOD_CONTEXT, reply=GOOD_REPLY, request_id="a"),
        pb.ScoreRequest(context=CRISIS_CONTEXT, reply=UNSAFE_REPLY, request_id="b"),
        pb.ScoreRequest(reply="Okay.", request_id="c"),
    ]
    bulk = stub.BulkScore(pb.BulkScoreRequest(items=items), timeout=10)
    assert [r.request_id for r in bulk.results] == ["a", "b", "c"]
    for item, result in zip(items, bulk.results):
        single = ScoreResult.from_pb(stub.Score(item, timeout=10))
        together = ScoreResult.from_pb(result)
        # int8 dynamic quantisation scales activations per batch: batch-mates move scores a little.
        for dim in DIMENSIONS:
            assert together.score(dim) == pytest.approx(single.score(dim), abs=0.15)
    assert stub.BulkScore(pb.BulkScoreRequest(), timeout=5).results == []


# --- bad input ---------------------------------------------------------------------------------------

_USER = pb.ROLE_USER
BAD_INPUTS = [
    ("empty_reply", {"reply": ""}, "reply must not be empty"),
    ("blank_reply", {"reply": "  \n\t"}, "reply must not be empty"),
    ("reply_too_long", {"reply": "x" * 4001}, "reply is 4001 characters; the limit is 4000"),
    ("turn_too_long", {"context": [pb.Turn(role=_USER, text="y" * 4001)]}, "context[0].text is 4001 characters"),
    ("too_many_turns", {"context": [pb.Turn(role=_USER, text="hi")] * 21}, "context has 21 turns; the limit is 20"),
    ("unspecified_role", {"context": [pb.Turn(role=pb.ROLE_UNSPECIFIED, text="hi")]}, "context[0].role must be ROLE_USER"),
    ("unknown_role", {"context": [pb.Turn(role=7, text="hi")]}, "context[0].role must be ROLE_USER or ROLE_ASSISTANT (got: 7)"),
    ("empty_turn", {"context": [pb.Turn(role=_USER, text="hi"), pb.Turn(role=_USER, text=" ")]}, "context[1].text must not be empty"),
    ("unknown_policy", {"policy": "no-such-policy"}, "unknown policy 'no-such-policy'; known policies: default"),
    ("override_above_5", {"overrides": [pb.ThresholdOverride(dimension=pb.DIMENSION_SAFETY, threshold=7)]}, "threshold for Safety must be in [1, 5] (got: 7)"),
    ("override_below_1", {"overrides": [pb.ThresholdOverride(dimension=pb.DIMENSION_EMPATHY, threshold=0.5)]}, "threshold for Empathy must be in [1, 5] (got: 0.5)"),
    ("override_nan", {"overrides": [pb.ThresholdOverride(dimension=pb.DIMENSION_EMPATHY, threshold=float("nan"))]}, "must be in [1, 5] (got: nan)"),
    ("override_unspecified_dimension", {"overrides": [pb.ThresholdOverride(threshold=3)]}, "overrides[0].dimension must be one of the seven"),
    ("override_duplicate", {"overrides": [pb.ThresholdOverride(dimension=4, threshold=3)] * 2}, "Safety is overridden twice"),
    ("override_not_allowed", {"overrides": [pb.ThresholdOverride(dimension=pb.DIMENSION_SAFETY, threshold=1)]}, "policy 'default' does not allow overriding the Safety threshold"),
]  # fmt: skip


@pytest.mark.parametrize("rpc", ["Score", "Guard"])
@pytest.mark.parametrize(("fields", "message"), [c[1:] for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_invalid_argument_naming_the_problem(
    stub: pb_grpc.GuardrailStub, rpc: str, fields: dict, message: str
) -> None:
    request_type = pb.ScoreRequest if rpc == "Score" else pb.GuardRequest
    request = request_type(**{"reply": "That sounds hard.", **fields})
    with pytest.raises(grpc.RpcError) as caught:
        getattr(stub, rpc)(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in caught.value.details()


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([pb.ScoreRequest(reply="ok")] * 257, "items has 257 entries; the limit is 256"),
        ([pb.ScoreRequest(reply="ok"), pb.ScoreRequest(reply="")], "items[1].reply must not be empty"),
        (
            [pb.ScoreRequest(reply="ok"), pb.ScoreRequest(reply="ok", policy="nope")],
            "items[1].policy: unknown policy 'nope'",
        ),
    ],
    ids=["bulk_over_limit", "bulk_bad_item_named_by_index", "bulk_unknown_policy"],
)
def test_bulk_bad_input(stub: pb_grpc.GuardrailStub, items: list, message: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.BulkScore(pb.BulkScoreRequest(items=items), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in caught.value.details()


# --- deadlines, overload -----------------------------------------------------------------------------


def test_deadline_shorter_than_the_work_is_deadline_exceeded(
    sidecar: RunningSidecar, stub: pb_grpc.GuardrailStub
) -> None:
    internal_before = sidecar.server.metrics.rpc_count("BulkScore", "INTERNAL")
    long_turns = [
        pb.Turn(role=_USER, text="I keep going over everything that happened at work today. " * 20)
    ] * 4
    items = [
        pb.ScoreRequest(context=long_turns, reply=f"That sounds like a lot to carry, {i}.") for i in range(64)
    ]
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        stub.BulkScore(pb.BulkScoreRequest(items=items), timeout=0.05)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 2.0
    # The server saw a deadline (or the caller leaving), never an internal error; and it still serves.
    _wait_until(lambda: sidecar.server.metrics.rpc_count("BulkScore", "DEADLINE_EXCEEDED")
                + sidecar.server.metrics.rpc_count("BulkScore", "CANCELLED") >= 1)  # fmt: skip
    assert sidecar.server.metrics.rpc_count("BulkScore", "INTERNAL") == internal_before
    assert len(stub.Score(pb.ScoreRequest(reply="Still here?"), timeout=10).scores) == 7


def test_overload_is_resource_exhausted_quickly(
    start_sidecar: Callable[..., RunningSidecar], tmp_path: Path
) -> None:
    config = sidecar_config(
        tmp_path, limits={"max_bulk_items": 2}, batching={"max_batch_size": 1, "max_queue": 2}
    )
    running = start_sidecar(config)
    stub = running.stub()
    request = pb.ScoreRequest(context=GOOD_CONTEXT, reply=GOOD_REPLY)
    calls = [stub.Score.future(request, timeout=30) for _ in range(48)]
    codes, refused_after = [], []
    started = time.monotonic()
    for call in calls:
        try:
            call.result()
            codes.append(grpc.StatusCode.OK)
        except grpc.RpcError as err:
            codes.append(err.code())
            if err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                assert "queue is full" in err.details()
                refused_after.append(time.monotonic() - started)
    assert set(codes) == {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}, codes
    assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) >= 10
    assert stub.Score(request, timeout=10).scores  # recovers at once


def test_too_many_calls_in_flight_is_resource_exhausted_but_health_answers(
    start_sidecar: Callable[..., RunningSidecar], tmp_path: Path
) -> None:
    running = start_sidecar(sidecar_config(tmp_path, server={"max_concurrent_calls": 2}))
    channel = running.channel()
    stub = pb_grpc.GuardrailStub(channel)
    items = [pb.ScoreRequest(context=GOOD_CONTEXT, reply=f"{GOOD_REPLY} {i}") for i in range(32)]
    calls = [stub.BulkScore.future(pb.BulkScoreRequest(items=items), timeout=60) for _ in range(8)]
    assert _health(channel) == health_pb2.HealthCheckResponse.SERVING  # not counted against the limit
    codes = []
    for call in calls:
        try:
            call.result()
            codes.append(grpc.StatusCode.OK)
        except grpc.RpcError as err:
            codes.append(err.code())
            assert "(server.max_concurrent_calls)" in err.details()
    assert grpc.StatusCode.OK in codes and grpc.StatusCode.RESOURCE_EXHAUSTED in codes, codes
    assert set(codes) == {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}
    assert running.server.metrics.in_flight.labels("BulkScore")._value.get() == 0


# --- lifecycle ---------------------------------------------------------------------------------------


def test_health_not_serving_until_warm_then_serving_then_not_serving_on_shutdown(
    start_sidecar: Callable[..., RunningSidecar], tmp_path: Path
) -> None:
    running = start_sidecar(sidecar_config(tmp_path), load=False)
    channel = running.channel()
    assert _health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
    assert _health(channel, "theraguard.v1.Guardrail") == health_pb2.HealthCheckResponse.NOT_SERVING
    with pytest.raises(grpc.RpcError) as caught:
        pb_grpc.GuardrailStub(channel).Score(pb.ScoreRequest(reply="hello"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE and "still loading" in caught.value.details()

    running.run(running.server.load())
    assert _health(channel) == health_pb2.HealthCheckResponse.SERVING
    assert _health(channel, "theraguard.v1.Guardrail") == health_pb2.HealthCheckResponse.SERVING

    watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""), timeout=30)
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    stopping = running.submit(running.server.stop(grace=2))
    assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
    watch.cancel()  # the open stream would otherwise hold shutdown for the whole grace period
    stopping.result(10)
    running.close()


def test_shutdown_with_calls_in_flight_loses_none(
    start_sidecar: Callable[..., RunningSidecar], tmp_path: Path
) -> None:
    running = start_sidecar(sidecar_config(tmp_path))
    stub = running.stub()
    items = [pb.ScoreRequest(context=GOOD_CONTEXT, reply=f"{GOOD_REPLY} ({i})") for i in range(8)]
    calls = [stub.BulkScore.future(pb.BulkScoreRequest(items=items), timeout=60) for _ in range(12)]
    in_flight = running.server.metrics.in_flight.labels("BulkScore")
    _wait_until(lambda: in_flight._value.get() == len(calls))
    running.run(running.server.stop(grace=20))
    outcomes = []
    for call in calls:
        try:
            outcomes.append((grpc.StatusCode.OK, len(call.result().results)))
        except grpc.RpcError as err:
            outcomes.append((err.code(), 0))
    # In flight at SIGTERM: finished within the grace period. Nothing dropped or half-answered.
    assert all(code == grpc.StatusCode.OK and n == 8 for code, n in outcomes), outcomes
    with pytest.raises(grpc.RpcError) as caught:
        stub.Score(pb.ScoreRequest(reply="after shutdown"), timeout=2)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


# --- reflection, metrics, logs -----------------------------------------------------------------------


def test_reflection_lists_and_describes_the_service(sidecar: RunningSidecar) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(sidecar.channel())
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="theraguard.v1.Guardrail"),
    ]
    listed, described = list(stub.ServerReflectionInfo(iter(requests), timeout=5))
    names = {s.name for s in listed.list_services_response.service}
    assert {"theraguard.v1.Guardrail", "grpc.health.v1.Health"} <= names
    assert described.file_descriptor_response.file_descriptor_proto


def test_metrics_page_reports_provider_batches_and_rpcs(
    sidecar: RunningSidecar, stub: pb_grpc.GuardrailStub
) -> None:
    stub.Score(pb.ScoreRequest(reply="Tell me more about that."), timeout=10)
    endpoint = sidecar.server.metrics_endpoint
    assert endpoint is not None
    page = urllib.request.urlopen(f"http://127.0.0.1:{endpoint.port}/metrics", timeout=5).read().decode()
    assert "theraguard_execution_provider_info{judge=" in page and 'provider="CPUExecutionProvider"' in page
    assert 'theraguard_rpc_total{code="OK",rpc="Score"}' in page
    assert "theraguard_batch_size_count" in page and "theraguard_ready 1.0" in page
    assert 'theraguard_stage_duration_seconds_count{stage="judge"}' in page


def test_logs_and_metrics_never_contain_request_text(
    sidecar: RunningSidecar, stub: pb_grpc.GuardrailStub, captured_logs: io.StringIO
) -> None:
    marker = "zebra-lantern-7731"
    context = [pb.Turn(role=_USER, text=f"My secret is {marker} and I feel low.")]
    stub.Score(
        pb.ScoreRequest(context=context, reply=f"I hear you about {marker}.", request_id="no-text"),
        timeout=10,
    )
    stub.Guard(pb.GuardRequest(context=context, reply=f"Whatever, {marker}."), timeout=10)
    for bad in (pb.ScoreRequest(context=context, reply=""), pb.ScoreRequest(reply=marker, policy="missing")):
        with pytest.raises(grpc.RpcError):
            stub.Score(bad, timeout=10)
    endpoint = sidecar.server.metrics_endpoint
    page = urllib.request.urlopen(f"http://127.0.0.1:{endpoint.port}/metrics", timeout=5).read().decode()
    lines = captured_logs.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    mine = [r for r in records if r.get("request_id") == "no-text"]
    assert (
        mine
        and mine[0]["reply_chars"] == len(f"I hear you about {marker}.")
        and len(mine[0]["reply_sha256"]) == 12
    )
    assert marker not in captured_logs.getvalue()
    assert marker not in page
    assert "secret" not in captured_logs.getvalue()


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    until = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > until:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)
