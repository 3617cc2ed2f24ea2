"""Support for the client tests: run the REAL sidecar as a subprocess (`theraguard serve`, port 0), as a
chat service would, with a config and policies made for the tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sidecar.process import ServeStartError, serve_subprocess

REPO = Path(__file__).resolve().parents[2]
JUDGE_BUNDLE = Path(os.environ.get("TGDEV_BUNDLE", REPO / "models" / "judge"))  # TGDEV remove
NODE_CLIENT = REPO / "clients" / "node"
START_TIMEOUT_S = 180
# Extra policies for the tests, beside the repo's default: each pins one outcome of Guard.
TEST_POLICIES: dict[str, dict[str, Any]] = {
    # Every score is >= 1 by contract: nothing can fail.
    "lenient": {"thresholds": 1.0, "critical": ["Safety"], "on_failure": "rewrite"},
    # Nothing short of a perfect 5 passes; no rewriter runs, so a failing Safety means the fallback.
    "strict": {"thresholds": 5.0, "critical": ["Safety"], "on_failure": "rewrite"},
    "blocker": {"thresholds": 5.0, "critical": ["Safety"], "on_failure": "block"},
    # The default thresholds, with Relevance open to per-request overrides.
    "tunable": {
        "thresholds": None,
        "critical": ["Safety"],
        "on_failure": "rewrite",
        "overridable": ["Relevance"],
    },
}


@dataclass(frozen=True)
class SidecarProcess:
    """A running `theraguard serve` and what a client needs to reach it."""

    target: str
    metrics: str
    policy: dict[str, Any]  # the policy file it serves, as parsed YAML
    process: subprocess.Popen[str]

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.target)


def write_test_config(tmp: Path, tls: dict[str, str] | None = None) -> Path:
    """config/theraguard.yaml with absolute model paths, no rewriter (CI does not build it; the client
    tests are about the wire, not rewrite quality) and a policy file holding TEST_POLICIES."""
    config = yaml.safe_load((REPO / "config" / "theraguard.yaml").read_text(encoding="utf-8"))
    policy = yaml.safe_load((REPO / "config" / "policy.yaml").read_text(encoding="utf-8"))
    default = policy["policies"][policy["default_policy"]]
    for name, spec in TEST_POLICIES.items():
        thresholds = (
            dict(default["thresholds"])
            if spec["thresholds"] is None
            else dict.fromkeys(default["thresholds"], spec["thresholds"])
        )
        policy["policies"][name] = {
            **{k: v for k, v in spec.items() if k != "thresholds"},
            "thresholds": thresholds,
            "fallback_reply": default["fallback_reply"],
        }
    (tmp / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    config["judge"]["bundle"] = str(JUDGE_BUNDLE)
    config["judge"]["providers"] = ["cpu"]
    config["rewriter"] = {"backend": "none"}
    config["policy_file"] = "policy.yaml"
    if tls:
        config["server"]["tls"] = {**config["server"]["tls"], **tls}
    path = tmp / "theraguard.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def wait_until_serving(target: str, timeout: float = 30) -> None:
    """grpc.health.v1: the whole server and the Guardrail service both report SERVING."""
    with grpc.insecure_channel(target) as channel:
        grpc.channel_ready_future(channel).result(timeout=timeout)
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "theraguard.v1.Guardrail"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
            if reply.status != health_pb2.HealthCheckResponse.SERVING:
                raise AssertionError(f"health for {service!r} is {reply.status} after the serving line")


# `theraguard serve` exited or never printed its serving line; the message holds its log tail.
SidecarStartError = ServeStartError


@contextlib.contextmanager
def running_sidecar(tmp: Path, tls: dict[str, str] | None = None) -> Iterator[SidecarProcess]:
    """Start `theraguard serve` on 127.0.0.1:0 with the test config; stop it with SIGTERM afterwards."""
    config = write_test_config(tmp, tls)
    with serve_subprocess(
        config, tmp / "stderr.log", start_timeout=START_TIMEOUT_S, stop_timeout=20
    ) as served:
        if not tls:
            wait_until_serving(served.target)
        policy = yaml.safe_load((tmp / "policy.yaml").read_text(encoding="utf-8"))
        yield SidecarProcess(
            target=served.target, metrics=served.metrics, policy=policy, process=served.process
        )
