"""Prometheus metrics on their own HTTP port. Labels are bounded enums only: never request text.

Each server owns a registry (tests run several servers in one process).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server

from sidecar.config import parse_address

# Milliseconds-to-seconds buckets that resolve a ~5 ms judge call as well as a ~3 s rewrite.
_LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.2,
    0.5,
    1,
    2,
    5,
    10,
)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 24, 32, 48, 64, 128, 256)


@dataclass
class MetricsEndpoint:
    """A running /metrics HTTP server."""

    host: str
    port: int
    _server: Any

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Metrics:
    """The sidecar's metrics, registered on a private registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.rpc_seconds = Histogram(
            "theraguard_rpc_duration_seconds", "Server-side duration of each RPC.", ["rpc"],
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.in_flight = Gauge("theraguard_rpc_in_flight", "RPCs being handled now.", ["rpc"], registry=r)
        self.rpc_total = Counter(
            "theraguard_rpc_total", "RPCs finished, by status code.", ["rpc", "code"], registry=r
        )
        self.stage_seconds = Histogram(
            "theraguard_stage_duration_seconds",
            "Duration of each step of a call (validate, queue, judge, rewrite, rescore, ...).",
            ["stage"], buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.actions = Counter(
            "theraguard_guard_actions_total", "Guard outcomes, by action, reason and shadow mode.",
            ["action", "reason", "shadow"], registry=r,
        )  # fmt: skip
        self.dimension_failures = Counter(
            "theraguard_dimension_failures_total",
            "Dimensions that failed their threshold, by the action Guard took on the reply.",
            ["dimension", "action"], registry=r,
        )  # fmt: skip
        self.batch_size = Histogram(
            "theraguard_batch_size", "Pairs per judge run.", buckets=_BATCH_BUCKETS, registry=r
        )
        self.queue_depth = Gauge("theraguard_queue_depth", "Pairs waiting for the judge.", registry=r)
        self.provider = Gauge(
            "theraguard_execution_provider_info", "The onnxruntime provider running the judge (value 1).",
            ["provider", "judge", "model"], registry=r,
        )  # fmt: skip
        self.ready = Gauge("theraguard_ready", "1 while the health service reports SERVING.", registry=r)
        self.judge_directed_replies = Counter(
            "theraguard_judge_directed_replies_total",
            "Replies carrying text aimed at the judge (fake verdicts, scores), scored a second time without it.",
            registry=r,
        )
        self.policy_reloads = Counter(
            "theraguard_policy_reloads_total", "Policy file reloads, by result.", ["result"], registry=r
        )
        self.startup_seconds = Gauge(
            "theraguard_startup_seconds", "Seconds from process start to SERVING.", registry=r
        )

    def observe_rpc(self, rpc: str, code: grpc.StatusCode, seconds: float) -> None:
        self.rpc_seconds.labels(rpc).observe(seconds)
        self.rpc_total.labels(rpc, code.name).inc()

    def observe_stages(self, timings: Iterable[tuple[str, float]]) -> None:
        for stage, millis in timings:
            self.stage_seconds.labels(stage).observe(millis / 1000)

    def observe_batch(self, size: int, depth: int) -> None:
        self.batch_size.observe(size)
        self.queue_depth.set(depth)

    def rpc_count(self, rpc: str, code: str) -> float:
        """Current value of theraguard_rpc_total{rpc, code} (0 when never seen)."""
        value = self.registry.get_sample_value("theraguard_rpc_total", {"rpc": rpc, "code": code})
        return value or 0.0

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def serve(self, address: str) -> MetricsEndpoint:
        """Start /metrics on HOST:PORT (port 0 = any free port)."""
        host, port = parse_address("server.metrics_address", address)
        server, _thread = start_http_server(port, addr=host.strip("[]"), registry=self.registry)
        return MetricsEndpoint(host, server.server_port, server)
