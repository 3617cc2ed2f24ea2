"""Fault sources and small helpers shared by the fault tests and bench/faults.py.

The judge fault is a REAL onnxruntime failure: ``broken_session`` builds a tiny ONNX graph with the
judge's input names whose Gather reads past its table, so ``session.run`` raises onnxruntime's own
INVALID_ARGUMENT error exactly as a failed device or a corrupted arena would surface. ``JudgeOutage``
swaps it in for the live judge's session and swaps the real one back: the judge has no reload, and
this is the only honest way to make its session fail and then return without touching its code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
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
