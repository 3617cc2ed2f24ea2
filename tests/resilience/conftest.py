"""Fixtures for the resilience tests: the sidecar tests' own fixtures and harness, reused, plus the
servers and fault sources these tests need (a socket that never answers, an HTTP server that fails).

The real server runs on 127.0.0.1 port 0 with the real judge bundle; `theraguard serve` subprocesses
come from bench/loadgen.py (which builds on tests/clients/sidecarproc.py).
"""

from __future__ import annotations

import importlib.util
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


@dataclass
class SilentServer:
    """A TCP listener that accepts connections and never answers (a hung rewriter server)."""

    url: str
    accepted: int = 0
    open_connections: int = 0
    _conns: list[socket.socket] = field(default_factory=list)


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    listener.settimeout(0.2)
    state = SilentServer(url=f"http://127.0.0.1:{listener.getsockname()[1]}")
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                pass
            else:
                conn.setblocking(False)
                state._conns.append(conn)
                state.accepted += 1
            # Count connections the client has not closed yet (a closed one reads EOF).
            still = 0
            for conn in state._conns:
                if conn.fileno() < 0:
                    continue
                try:
                    if conn.recv(65536, socket.MSG_PEEK) == b"":
                        conn.close()
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    conn.close()
                    continue
                still += 1
                # Drain what the client sent so its writes never block; answer nothing.
                try:
                    conn.recv(65536)
                except OSError:
                    pass
            state.open_connections = still

    thread = threading.Thread(target=serve, name="silent-server", daemon=True)
    thread.start()
    yield state
    done.set()
    thread.join(5)
    for conn in state._conns:
        conn.close()
    listener.close()


@dataclass
class FailingServer:
    """A real HTTP server answering every chat completion with an error status."""

    url: str
    status: int = 500
    requests: int = 0


@pytest.fixture
def failing_server() -> Iterator[FailingServer]:
    state = FailingServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            state.requests += 1
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = b'{"error": {"message": "internal server error", "type": "server_error"}}'
            try:
                self.send_response(state.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="failing-server", daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL on which nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
