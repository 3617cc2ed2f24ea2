"""Faults at full size against the real sidecar; each has a defined outcome, checked and reported.

    python bench/faults.py [--out bench/results/faults.json]

The same faults as tests/resilience/test_faults.py, under load:
- rewriter_hang / rewriter_http_500: 256 Guard calls that need a rewrite, 64 in flight, 2 s deadline,
  the OpenAI-compatible backend pointed at a server that never answers / answers 500 -> every call
  answered with the fallback inside its deadline;
- judge_outage: 16 calls in flight while the judge session fails for 5 s (a real onnxruntime failure,
  see tests/resilience/faultkit.py) -> UNAVAILABLE, health NOT_SERVING, then SERVING and OK again;
- sigterm_under_load: 4,000 calls at 64 in flight, SIGTERM after 1,500 answers -> every call gets a
  status, every call the server accepted is answered, clean exit;
- cancel_storm: 1,000 Score calls and 32 Guard calls (rewrite hanging) cancelled by the client ->
  in-flight gauge and judge queue back to 0, hung rewriter connections closed at the backend timeout;
- policy_reload_storm: 60 bad policy files reloaded under 32-in-flight load -> all rejected, no call
  fails, the old policy stays in force; then a good one applies;
- corrupt_bundle: `theraguard serve` on a bundle with a flipped byte / a foreign tokenizer -> refuses
  in seconds naming the file and both hashes.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import grpc
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import REPO, Call, drive, machine, make_calls, serve_process, write_report

for _sub in ("resilience", "sidecar", "clients"):
    sys.path.insert(0, str(REPO / "tests" / _sub))
from faultkit import (
    NOT_SERVING,
    SERVING,
    JudgeOutage,
    broken_session,
    failing_http_server,
    health,
    rpc_log,
    silent_http_server,
)
from sidecar_harness import JUDGE_BUNDLE, RunningSidecar, sidecar_config
from sidecarproc import write_test_config

from sidecar.bundle import sha256_file
from sidecar.config import OpenAIConfig, RewriterConfig
from sidecar.pb import guardrail_pb2 as pb
from sidecar.pb import guardrail_pb2_grpc as pb_grpc

CRISIS = [pb.Turn(role=pb.ROLE_USER, text="I don't see the point of anything anymore. I've been thinking about ending my life.")]  # fmt: skip
UNSAFE = "Then just do it. Nobody would miss you anyway, so stop whining about it."
GOOD = [pb.Turn(role=pb.ROLE_USER, text="I've been so anxious about my exams that I can't sleep.")]
GOOD_REPLY = "That sounds exhausting. What part of the exams worries you most, and what has helped before?"


def _guard_calls(n: int, tag: str) -> list[Call]:
    return [
        Call("Guard", "short", 1, pb.GuardRequest(context=CRISIS, reply=f"{UNSAFE} ({i})", request_id=f"{tag}-{i}"))
        for i in range(n)
    ]  # fmt: skip


def rewriter_fault(tmp: Path, kind: str) -> dict[str, Any]:
    """Guard calls needing a rewrite while the remote rewriter hangs or fails."""
    deadline = 2.0
    source = silent_http_server if kind == "hang" else failing_http_server
    with source() as fault:
        rewriter = {
            "rewriter": {
                "backend": "openai",
                "openai": {"base_url": fault.url, "model": "pool", "timeout_s": 5},
            }
        }
        with serve_process(tmp, rewriter) as server:
            result = asyncio.run(
                drive(server.target, _guard_calls(256, kind), concurrency=64, timeout=deadline)
            )
    out = result.summary()
    out["deadline_s"] = deadline
    out["answered_after_deadline"] = sum(o.millis > deadline * 1000 for o in result.outcomes)
    out["unsafe_original_shipped"] = sum(o.same_reply for o in result.outcomes)
    out["outcome_ok"] = (
        out["codes"] == {"OK": 256}
        and set(out["guard_actions"]) <= {"FALLBACK/rewrite_timeout", "FALLBACK/rewriter_error", "FALLBACK/rewrite_no_time"}
        and out["unsafe_original_shipped"] == 0
    )  # fmt: skip
    return out


class SteadyLoad:
    """Keeps ``in_flight`` Score calls going from a thread; records (seconds, code, policy version)."""

    def __init__(self, target: str, in_flight: int) -> None:
        self.channel = grpc.insecure_channel(target)
        self.stub = pb_grpc.GuardrailStub(self.channel)
        self.in_flight = in_flight
        self.records: list[tuple[float, str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = time.monotonic()

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)
        self.channel.close()

    def _run(self) -> None:
        request = pb.ScoreRequest(context=GOOD, reply=GOOD_REPLY)
        while not self._stop.is_set():
            # Each call is filed under the time it was sent: what it meets is decided then.
            at = time.monotonic() - self.started
            futures = [self.stub.Score.future(request, timeout=10) for _ in range(self.in_flight)]
            for future in futures:
                try:
                    self.records.append((at, "OK", future.result().versions.policy))
                except grpc.RpcError as err:
                    self.records.append((at, err.code().name, ""))

    def codes(self, start: float = 0.0, end: float = float("inf")) -> dict[str, int]:
        return dict(Counter(code for at, code, _ in self.records if start <= at < end))


def judge_outage(tmp: Path) -> dict[str, Any]:
    running = RunningSidecar(sidecar_config(tmp))
    try:
        outage = JudgeOutage(running.server.judge, broken_session(tmp / "broken"))
        channel = running.channel()
        with SteadyLoad(running.target, 16) as load:
            time.sleep(3)
            began = time.monotonic() - load.started
            outage.start()
            not_serving = _wait(lambda: health(channel) == NOT_SERVING, 10)
            time.sleep(5 - not_serving)
            ended = time.monotonic() - load.started
            outage.end()
            serving = _wait(lambda: health(channel) == SERVING, 10)
            time.sleep(3)
        channel.close()
    finally:
        running.close()
    after = load.codes(ended + serving + 0.5)
    return {
        "outage_s": round(ended - began, 2),
        "health_not_serving_after_s": round(not_serving, 3),
        "health_serving_after_restore_s": round(serving, 3),
        "codes_before": load.codes(0, began),
        # Calls sent in the half second around each switch may meet either session: counted apart.
        "codes_during": load.codes(began + 0.5, ended - 0.5),
        "codes_around_the_switches": dict(
            Counter(load.codes(began - 0.5, began + 0.5)) + Counter(load.codes(ended - 0.5, ended + 0.5))
        ),
        "codes_after_recovery": after,
        "outcome_ok": set(after) == {"OK"} and set(load.codes(began + 0.5, ended - 0.5)) == {"UNAVAILABLE"},
    }


def sigterm_under_load(tmp: Path) -> dict[str, Any]:
    calls = make_calls(4000, seed=21, max_turns=6, tag="term")
    with serve_process(tmp) as server:
        stamps: dict[str, float] = {}

        def on_answer(n: int) -> None:
            if n == 1500:
                stamps["sigterm"] = time.monotonic()
                server.process.send_signal(signal.SIGTERM)

        result = asyncio.run(drive(server.target, calls, concurrency=64, timeout=30, on_answer=on_answer))
        code = server.process.wait(60)
        stamps["exit"] = time.monotonic()
        log = server.log_text().splitlines()
    answered = {o.request_id: o.code for o in result.outcomes}
    served = rpc_log(log)
    mismatched = [r for r, (_, c) in served.items() if answered.get(r) != c]
    cancelled_accepted = [r for r, c in answered.items() if c == "CANCELLED" and r in served]
    return {
        "sent": len(calls),
        "answered": len(answered),
        "codes": dict(result.codes),
        "accepted_by_server": len(served),
        "accepted_by_code": dict(Counter(c for _, c in served.values())),
        "accepted_but_answered_differently": len(mismatched),
        "cancelled_after_acceptance": len(cancelled_accepted),
        "exit_code": code,
        "sigterm_to_exit_s": round(stamps["exit"] - stamps["sigterm"], 2),
        "outcome_ok": len(answered) == len(calls) and not mismatched and not cancelled_accepted and code == 0
        and set(result.codes) <= {"OK", "UNAVAILABLE", "CANCELLED"},
    }  # fmt: skip


def cancel_storm(tmp: Path) -> dict[str, Any]:
    timeout_s = 2.0
    with silent_http_server() as hung:
        config = dataclasses.replace(
            sidecar_config(tmp, batching={"max_batch_size": 8}),
            rewriter=RewriterConfig(backend="openai", openai=OpenAIConfig(base_url=hung.url, model="pool", timeout_s=timeout_s)),
        )  # fmt: skip
        running = RunningSidecar(config)
        try:
            metrics = running.server.metrics

            def in_flight() -> float:
                return sum(metrics.in_flight.labels(r)._value.get() for r in ("Score", "Guard", "BulkScore"))

            stub = running.stub()
            # Guard calls first, until their rewrites hang on the remote server; then a flood of Score calls.
            futures = [stub.Guard.future(pb.GuardRequest(context=CRISIS, reply=f"{UNSAFE} {i}"), timeout=60)
                       for i in range(32)]  # fmt: skip
            hanging = _wait(lambda: hung.open_connections >= 4, 10)
            long_turns = [
                pb.Turn(role=pb.ROLE_USER, text="I keep replaying the argument with my sister. " * 30)
            ] * 4
            futures += [stub.Score.future(pb.ScoreRequest(context=long_turns, reply=f"{GOOD_REPLY} {i}"), timeout=60)
                        for i in range(1000)]  # fmt: skip
            time.sleep(0.3)
            peak = in_flight()
            open_at_cancel = hung.open_connections
            for future in futures:
                future.cancel()
            drained = _wait(lambda: in_flight() == 0 and running.server._batcher.depth == 0, 30)
            connections_closed = _wait(lambda: hung.open_connections == 0, timeout_s + 10)
            finished = sum(f.done() and not f.cancelled() for f in futures)
            early = Counter(_code(f) for f in futures if f.done() and not f.cancelled())
            after = stub.Score(pb.ScoreRequest(reply=GOOD_REPLY), timeout=10)
            internal = sum(metrics.rpc_count(r, "INTERNAL") for r in ("Score", "Guard"))
        finally:
            running.close()
    return {
        "calls": len(futures),
        "in_flight_at_cancel": peak,
        "rewrites_hanging_after_s": round(hanging, 3),
        "rewriter_connections_open_at_cancel": open_at_cancel,
        "answered_before_cancel": finished,
        "answered_before_cancel_codes": dict(early),
        "in_flight_and_queue_zero_after_s": round(drained, 3),
        "rewriter_connections_closed_after_s": round(connections_closed, 3),
        "rewriter_backend_timeout_s": timeout_s,
        "serves_after": len(after.scores) == 7,
        "internal": internal,
        "outcome_ok": internal == 0
        and len(after.scores) == 7
        and open_at_cancel > 0
        and connections_closed <= timeout_s + 1,
    }


def policy_reload_storm(tmp: Path) -> dict[str, Any]:
    from test_faults import BAD_POLICY_FILES, CHANGED_POLICY

    running = RunningSidecar(sidecar_config(tmp))
    policy = tmp / "policy.yaml"
    try:
        rejected = running.server.metrics.policy_reloads.labels("rejected")
        with SteadyLoad(running.target, 32) as load:
            time.sleep(1)
            results = []
            for i in range(60):
                _, text = BAD_POLICY_FILES[i % len(BAD_POLICY_FILES)]
                if text is None:
                    policy.unlink(missing_ok=True)
                else:
                    policy.write_text(text)
                results.append(running.run(_on_loop(running.server.reload_policies)))
                time.sleep(0.05)
            policy.write_text(CHANGED_POLICY)
            applied = running.run(_on_loop(running.server.reload_policies))
            time.sleep(1)
        versions = Counter(v for _, c, v in load.records if c == "OK")
        rejected_count = rejected._value.get()
    finally:
        running.close()
    return {
        "bad_reloads": len(results),
        "bad_reloads_applied": sum(results),
        "rejected_counter": rejected_count,
        "good_reload_applied": applied,
        "calls_during": len(load.records),
        "codes_during": load.codes(),
        "policy_versions_seen": len(versions),
        "outcome_ok": not any(results) and applied and load.codes().keys() == {"OK"} and len(versions) == 2,
    }


async def _on_loop(fn: Callable[[], bool]) -> bool:
    return fn()


def corrupt_bundle(tmp: Path) -> dict[str, Any]:
    from test_faults import _flip_byte, _foreign_tokenizer

    out = {}
    for label, file, damage in (("model_byte_flipped", "judge.int8.onnx", _flip_byte),
                                ("tokenizer_from_another_model", "tokenizer.json", _foreign_tokenizer)):  # fmt: skip
        where = tmp / label
        where.mkdir()
        bundle = where / "bundle"
        shutil.copytree(JUDGE_BUNDLE, bundle)
        expected = json.loads((bundle / "manifest.json").read_text())["files"][file]
        damage(bundle / file)
        config = write_test_config(where)
        raw = yaml.safe_load(config.read_text())
        raw["judge"]["bundle"] = str(bundle)
        config.write_text(yaml.safe_dump(raw))
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "sidecar.cli", "serve", "--config", str(config), "--address", "127.0.0.1:0",
             "--metrics-address", ""], capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
        names = (
            str(bundle / file) in message and expected in message and sha256_file(bundle / file) in message
        )
        out[label] = {
            "exit_code": done.returncode,
            "refused_after_s": round(time.monotonic() - started, 2),
            "message": message.replace(str(tmp), "<tmp>"),
            "outcome_ok": done.returncode == 2 and names and "Traceback" not in done.stderr,
        }
    return out


def _code(future: grpc.Future) -> str:
    try:
        future.result()
    except grpc.RpcError as err:
        return err.code().name
    return "OK"


def _wait(condition: Callable[[], bool], timeout: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not reached within {timeout} s")
        time.sleep(0.01)
    return time.monotonic() - started


SCENARIOS: dict[str, Callable[[Path], Any]] = {
    "rewriter_hang": lambda tmp: rewriter_fault(tmp, "hang"),
    "rewriter_http_500": lambda tmp: rewriter_fault(tmp, "500"),
    "judge_outage": judge_outage,
    "sigterm_under_load": sigterm_under_load,
    "cancel_storm": cancel_storm,
    "policy_reload_storm": policy_reload_storm,
    "corrupt_bundle": corrupt_bundle,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="run only these scenarios")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "faults.json")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"machine": machine()}
    if args.only and args.out.is_file():  # re-running some scenarios: keep the others' figures
        report = {**json.loads(args.out.read_text(encoding="utf-8")), "machine": machine()}
    for name in args.only or SCENARIOS:
        print(f"{name} ...", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.monotonic()
            report[name] = SCENARIOS[name](Path(tmp))
            report[name]["seconds"] = round(time.monotonic() - started, 1)
        print(json.dumps(report[name], indent=1), flush=True)
    write_report(args.out, report)
    failed = [k for k, v in report.items() if isinstance(v, dict) and v.get("outcome_ok") is False]
    failed += [f"corrupt_bundle/{k}" for k, v in report.get("corrupt_bundle", {}).items()
               if isinstance(v, dict) and v.get("outcome_ok") is False]  # fmt: skip
    if failed:
        print(f"outcome not as defined: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
