"""Property-based fuzzing of the real server: only OK or INVALID_ARGUMENT, never INTERNAL, never a crash.

A few hundred derandomized examples here; bench/fuzz.py runs >= 10,000 with the same strategies.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import grpc
import pytest
from faultkit import SERVING, health
from fuzzing import FuzzTally, call_and_check, raw_bodies, requests
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings

from sidecar.pb import guardrail_pb2 as pb

RPC_REQUESTS = {"Score": pb.ScoreRequest, "Guard": pb.GuardRequest, "BulkScore": pb.BulkScoreRequest}
FUZZ_SETTINGS = settings(
    max_examples=200, derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)  # fmt: skip


@pytest.fixture(scope="module")
def fuzz_target(policy_sidecar):
    return policy_sidecar


@pytest.fixture(scope="module")
def tally() -> Iterator[FuzzTally]:
    yield FuzzTally()


@FUZZ_SETTINGS
@given(case=requests())
def test_any_request_gets_ok_or_invalid_argument(fuzz_target, tally: FuzzTally, case) -> None:
    _, _, stub, fallbacks = fuzz_target
    rpc, request = case
    before = len(tally.violations)
    call_and_check(stub, rpc, request, fallbacks, tally)
    assert len(tally.violations) == before, tally.violations[-1]


@settings(max_examples=120, derandomize=True, deadline=None, database=None)
@given(body=raw_bodies())
def test_raw_bytes_get_a_clean_status(fuzz_target, body: bytes) -> None:
    """Bytes that do not parse get INVALID_ARGUMENT naming the message type; bytes that happen to parse
    are served or refused like any request (OK or INVALID_ARGUMENT); never UNKNOWN or INTERNAL."""
    _, channel, _, _ = fuzz_target
    for method, request_class in RPC_REQUESTS.items():
        call = channel.unary_unary(f"/theraguard.v1.Guardrail/{method}")  # bytes in, bytes out
        try:
            request_class.FromString(body)
            parses = True
        except DecodeError:
            parses = False
        try:
            call(body, timeout=30)
            assert parses, "bytes that do not parse were served"
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
            not_valid = f"request body is not a valid {request_class.DESCRIPTOR.full_name} protobuf"
            assert (not_valid in err.details()) != parses, err.details()


# Each is invalid as every request type: a truncated field, an invalid wire type, and a string field
# (ScoreRequest.reply, Turn.text) holding a lone surrogate encoded as UTF-8.
INVALID_BODIES = {
    "truncated": (b"\x0a\x05ab", "Wire format was corrupt"),
    "wire_type_7": (b"\x0f", "Wire format was corrupt"),
    "bad_utf8": (b"\x0a\x05\x12\x03\xed\xa0\x80", "String field had bad UTF-8"),
}


@pytest.mark.parametrize("body, reason", INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
@pytest.mark.parametrize("method", RPC_REQUESTS)
def test_undecodable_bytes_are_invalid_argument(
    fuzz_target, captured_logs, method: str, body: bytes, reason: str
) -> None:
    """Was grpc's own UNKNOWN ("Exception deserializing request"), before the sidecar's error mapping."""
    running, channel, _, _ = fuzz_target
    request_class = RPC_REQUESTS[method]
    with pytest.raises(DecodeError):
        request_class.FromString(body)  # the premise: these bytes really are invalid
    refused = lambda: running.server.metrics.rpc_count(method, "INVALID_ARGUMENT")
    counted = refused()
    call = channel.unary_unary(f"/theraguard.v1.Guardrail/{method}")  # bytes in, bytes out
    with pytest.raises(grpc.RpcError) as caught:
        call(body, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert caught.value.details().startswith(
        f"request body is not a valid {request_class.DESCRIPTOR.full_name} protobuf: {reason}"
    ), caught.value.details()
    # Answered by the sidecar's handler, so counted like any other refused call (just after the answer).
    waited = time.monotonic() + 5
    while refused() == counted and time.monotonic() < waited:
        time.sleep(0.01)
    assert refused() == counted + 1
    # split("\n"), not splitlines(): fuzzed request ids put U+2028 inside the JSON lines.
    records = [json.loads(line) for line in captured_logs.getvalue().split("\n") if line]
    logged = [r for r in records if r.get("rpc") == method and "request_bytes" in r]
    assert logged[-1]["code"] == "INVALID_ARGUMENT" and logged[-1]["request_bytes"] == len(body)


def test_after_fuzzing_nothing_internal_and_still_serving(fuzz_target, tally: FuzzTally) -> None:
    running, channel, stub, _ = fuzz_target
    metrics = running.server.metrics
    for rpc in ("Score", "Guard", "BulkScore"):
        for code in ("INTERNAL", "UNKNOWN", "DEADLINE_EXCEEDED", "UNAVAILABLE"):
            assert metrics.rpc_count(rpc, code) == 0, (rpc, code)
    assert not tally.violations, tally.violations[:5]
    assert tally.codes["OK"] > 20 and tally.codes["INVALID_ARGUMENT"] > 20, (
        tally.codes
    )  # both kinds exercised
    assert health(channel) == SERVING
    assert len(stub.Score(pb.ScoreRequest(reply="Still here for you."), timeout=10).scores) == 7


@pytest.mark.parametrize(
    "name", ["x" * 65, "p" * 5000, "😀" * 4000], ids=["65_chars", "5000_chars", "4000_emoji"]
)
def test_long_unknown_policy_is_invalid_argument_with_a_short_message(fuzz_target, name: str) -> None:
    """Found by the fuzzer: the whole name was quoted in the status message, which travels in a header;
    past grpc's 16 KB metadata limit the caller got RESOURCE_EXHAUSTED ("Stream removed") instead."""
    _, _, stub, _ = fuzz_target
    with pytest.raises(grpc.RpcError) as caught:
        stub.Score(pb.ScoreRequest(reply="That sounds hard.", policy=name), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = caught.value.details()
    assert "unknown policy" in details and f"({len(name)} characters)" in details and len(details) < 1024
