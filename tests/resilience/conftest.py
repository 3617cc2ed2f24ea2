"""Fixtures for the resilience tests: the sidecar tests' own fixtures and harness, reused, plus the
servers and fault sources these tests need (a socket that never answers, an HTTP server that fails).

The real server runs on 127.0.0.1 port 0 with the real judge bundle; `theraguard serve` subprocesses
come from bench/loadgen.py (which builds on tests/clients/sidecarproc.py).
"""

from __future__ import annotations

import importlib.util
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
for _path in (REPO / "tests" / "sidecar", REPO / "tests" / "clients", REPO / "bench", Path(__file__).parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


def _fixtures_of(path: Path, name: str) -> object:
    """Import a sibling directory's conftest under its own name, to reuse its fixtures here."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


from faultkit import FailingServer, SilentServer, failing_http_server, silent_http_server

_sidecar = _fixtures_of(REPO / "tests" / "sidecar" / "conftest.py", "_resilience_sidecar_fixtures")
_rewrite = _fixtures_of(
    REPO / "tests" / "sidecar" / "rewrite" / "conftest.py", "_resilience_rewrite_fixtures"
)
judge_bundle = _sidecar.judge_bundle  # type: ignore[attr-defined]
captured_logs = _sidecar.captured_logs  # type: ignore[attr-defined]
start_sidecar = _sidecar.start_sidecar  # type: ignore[attr-defined]
rewriter_dir = _rewrite.rewriter_dir  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def policy_sidecar(judge_bundle: Path, captured_logs, tmp_path_factory: pytest.TempPathFactory):
    """An in-process sidecar (no rewriter) serving the client tests' policies: default, lenient, strict,
    blocker, tunable. Yields (running, channel, stub, fallback replies)."""
    import yaml
    from sidecar_harness import RunningSidecar, sidecar_config
    from sidecarproc import write_test_config

    from sidecar.pb import guardrail_pb2_grpc as pb_grpc

    tmp = tmp_path_factory.mktemp("policies")
    write_test_config(tmp)  # writes tmp/policy.yaml with the test policies
    policies = yaml.safe_load((tmp / "policy.yaml").read_text())
    fallbacks = {p["fallback_reply"] for p in policies["policies"].values()}
    running = RunningSidecar(sidecar_config(tmp / "server", policy=tmp / "policy.yaml"))
    channel = running.channel()
    yield running, channel, pb_grpc.GuardrailStub(channel), fallbacks
    channel.close()
    running.close()


# --- fault sources ----------------------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    with silent_http_server() as server:
        yield server


@pytest.fixture
def failing_server() -> Iterator[FailingServer]:
    with failing_http_server() as server:
        yield server


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL on which nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
