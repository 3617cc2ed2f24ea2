"""Property-based fuzzing of the real server: only OK or INVALID_ARGUMENT, never INTERNAL, never a crash.

A few hundred derandomized examples here; bench/fuzz.py runs >= 10,000 with the same strategies.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from faultkit import SERVING, health
from fuzzing import FuzzTally, call_and_check, raw_bodies, requests
from hypothesis import HealthCheck, given, settings

from sidecar.pb import guardrail_pb2 as pb

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
    """Bytes that are not a valid message never reach the servicer: grpc answers them itself.

    What comes back: INVALID_ARGUMENT or OK when the bytes happen to parse, else grpc's own UNKNOWN
    for a request it cannot deserialize ("Exception deserializing request"); never INTERNAL.
    """
    _, channel, _, _ = fuzz_target
    for method in ("Score", "Guard", "BulkScore"):
        call = channel.unary_unary(f"/theraguard.v1.Guardrail/{method}")  # bytes in, bytes out
        try:
            call(body, timeout=30)
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.UNKNOWN:
                assert "DecodeError" in (err.details() or ""), err.details()
            else:
                assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())


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
