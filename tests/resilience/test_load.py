"""Load and overload, small: the same phases as bench/load.py (full figures in the README), fewer calls.

A real `theraguard serve` process on loopback; the grpc.aio driver of bench/loadgen.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from load import OVERLOAD_LIMITS, load_phase, overload_phase
from loadgen import ServerProcess, serve_process

pytestmark = pytest.mark.slow  # two sidecar processes and ~1,000 calls

# Generous bounds: these catch unbounded queueing and leaks, not slow machines (the bench measures).
RSS_GROWTH_LIMIT_MB = 40.0


@pytest.fixture(scope="module")
def load_server(judge_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serve_process(tmp_path_factory.mktemp("load")) as server:
        yield server


@pytest.fixture(scope="module")
def overload_server(judge_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serve_process(tmp_path_factory.mktemp("overload"), OVERLOAD_LIMITS) as server:
        yield server


def test_mixed_load_all_ok_and_memory_flat(load_server: ServerProcess) -> None:
    first = load_phase(load_server, 192, 64, seed=3, warm_up=64, max_turns=4)
    assert first["codes"] == {"OK": 192}, first["codes"]
    second = load_phase(load_server, 192, 64, seed=4, warm_up=0, max_turns=4)
    assert second["codes"] == {"OK": 192}, second["codes"]
    print(first["rss_mb"], second["rss_mb"], first["throughput_per_s"])
    # Both call kinds and all three sizes were exercised.
    assert set(first["latency_ms_ok_by_rpc"]) == {"Score", "Guard"}
    assert set(first["latency_ms_ok_by_size"]) == {"short", "medium", "long"}
    # After a warm-up, a second identical-size run leaves memory where the first one did.
    assert second["rss_mb"]["after"] - first["rss_mb"]["after"] < RSS_GROWTH_LIMIT_MB, (first, second)


def test_overload_is_refused_fast_and_the_server_recovers(overload_server: ServerProcess) -> None:
    report = overload_phase(overload_server, 400, 400, recovery_calls=64)
    codes = report["codes"]
    assert set(codes) <= {"OK", "RESOURCE_EXHAUSTED"}, codes
    assert codes.get("RESOURCE_EXHAUSTED", 0) >= 100 and codes.get("OK", 0) >= 32, codes
    refused, served = report["latency_ms_RESOURCE_EXHAUSTED"], report["latency_ms_ok"]
    # Refusals do not wait for the judge: they come back well before the work that was admitted.
    assert refused["p50"] < served["p50"], (refused, served)
    # Bounded queue: admitted calls wait behind at most max_concurrent_calls others, never the whole offer.
    assert served["max"] < 30_000, served
    assert report["recovery"]["codes"] == {"OK": 64}, report["recovery"]
    assert report["recovery"]["in_flight_after"] == 0
    assert any(
        "max_concurrent_calls" in m or "queue is full" in m for m in report["resource_exhausted_messages"]
    )
