"""Fault sources and small helpers shared by the fault tests and bench/faults.py.

The judge fault is a REAL onnxruntime failure: ``broken_session`` builds a tiny ONNX graph with the
judge's input names whose Gather reads past its table, so ``session.run`` raises onnxruntime's own
INVALID_ARGUMENT error exactly as a failed device or a corrupted arena would surface. ``JudgeOutage``
swaps it in for the live judge's session and swaps the real one back: the judge has no reload, and
this is the only honest way to make its session fail and then return without touching its code.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sidecar.bundle import INPUT_NAMES


def broken_session(directory: Path) -> Any:
    """An onnxruntime session with the judge's inputs that fails at run time (index out of bounds)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    table = helper.make_tensor("table", TensorProto.FLOAT, [1], [3.0])
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "seq"]) for name in INPUT_NAMES
    ]
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["gathered"], axis=0),
        # Consume the other inputs so the graph's inputs match the judge's feeds exactly.
        helper.make_node("Add", ["attention_mask", "token_type_ids"], ["unused"]),
        helper.make_node("Identity", ["gathered"], ["scores"]),
    ]
    outputs = [
        helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", "seq"]),
        helper.make_tensor_value_info("unused", TensorProto.INT64, ["batch", "seq"]),
    ]
    graph = helper.make_graph(nodes, "broken-judge", inputs, outputs, initializer=[table])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "broken-judge.onnx"
    onnx.save(model, str(path))
    options = ort.SessionOptions()
    options.log_severity_level = 4  # the failure is the point: keep onnxruntime's own log quiet
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


class JudgeOutage:
    """Make a running sidecar's judge session fail (``start``) and come back (``end``)."""

    def __init__(self, judge: Any, session: Any) -> None:
        self._judge = judge
        self._broken = session
        self._real = judge._session

    def start(self) -> None:
        self._judge._session = self._broken

    def end(self) -> None:
        self._judge._session = self._real


def health(channel: grpc.Channel, service: str = "theraguard.v1.Guardrail") -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> float:
    """Poll until ``condition()``; return the seconds it took (AssertionError on timeout)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - started


def rpc_log(lines: Iterable[str]) -> dict[str, tuple[str, str]]:
    """request_id -> (rpc, code) from the sidecar's JSON "rpc" log lines."""
    seen: dict[str, tuple[str, str]] = {}
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == "rpc" and record.get("request_id"):
            seen[record["request_id"]] = (record["rpc"], record["code"])
    return seen


def log_events(lines: Iterable[str]) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


# --- rewriter servers that fail -------------------------------------------------------------------


@dataclass
class SilentServer:
    """A TCP listener that accepts connections and never answers (a hung rewriter server)."""

    url: str
    accepted: int = 0
    open_connections: int = 0
    _conns: list[socket.socket] = field(default_factory=list)


@contextlib.contextmanager
def silent_http_server() -> Iterator[SilentServer]:
    """A rewriter server that hangs: accepts, reads, never answers."""
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
    try:
        yield state
    finally:
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


@contextlib.contextmanager
def failing_http_server() -> Iterator[FailingServer]:
    """A rewriter server that fails: every POST gets HTTP 500 with a JSON error body."""
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
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
