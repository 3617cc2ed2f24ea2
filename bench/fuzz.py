"""Fuzz the real sidecar process with >= 10,000 hostile requests (hypothesis), plus raw invalid bytes.

    python bench/fuzz.py [--examples 10000] [--raw 2000] [--seed 0] [--out bench/results/fuzz.json]

Same strategies and properties as tests/resilience/test_fuzz.py (tests/resilience/fuzzing.py), but
random (seeded) and against `theraguard serve` as a subprocess, so a crash would show as a dead
process. Properties: only OK or INVALID_ARGUMENT come back; an INVALID_ARGUMENT names the problem; a
request that must be refused is refused and a valid one is served; answers are well formed and a
critical failure is never sent as PASS/FLAGGED. Raw bytes that are not a valid message must get
INVALID_ARGUMENT naming the message type; bytes that happen to parse, OK or INVALID_ARGUMENT.
Afterwards the server's own counters must show no INTERNAL/UNKNOWN and it must still serve.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import grpc
import yaml
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import REPO, machine, serve_process, write_report

sys.path.insert(0, str(REPO / "tests" / "resilience"))
from fuzzing import ALLOWED, FuzzTally, call_and_check, raw_bodies, requests

from sidecar.pb import guardrail_pb2 as pb
from sidecar.pb import guardrail_pb2_grpc as pb_grpc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=10000)
    parser.add_argument("--raw", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "fuzz.json")
    args = parser.parse_args(argv)

    report: dict = {"machine": machine(), "seed": args.seed}
    tally = FuzzTally()
    raw_codes: Counter[str] = Counter()
    raw_violations: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, serve_process(Path(tmp)) as server:
        policies = yaml.safe_load((Path(tmp) / "policy.yaml").read_text())
        fallbacks = {p["fallback_reply"] for p in policies["policies"].values()}
        channel = grpc.insecure_channel(
            server.target, options=[("grpc.max_receive_message_length", 64 << 20)]
        )
        stub = pb_grpc.GuardrailStub(channel)
        common = {"deadline": None, "database": None, "suppress_health_check": list(HealthCheck)}

        @seed(args.seed)
        @settings(max_examples=args.examples, **common)
        @given(case=requests())
        def fuzz(case) -> None:
            rpc, request = case
            call_and_check(stub, rpc, request, fallbacks, tally)

        @seed(args.seed)
        @settings(max_examples=args.raw, **common)
        @given(body=raw_bodies())
        def fuzz_raw(body: bytes) -> None:
            method = ("Score", "Guard", "BulkScore")[len(body) % 3]
            request_class = getattr(pb, f"{method}Request")
            try:
                request_class.FromString(body)
                parses = True
            except DecodeError:
                parses = False
            call = channel.unary_unary(f"/theraguard.v1.Guardrail/{method}")
            try:
                call(body, timeout=30)
                code, details = grpc.StatusCode.OK, ""
            except grpc.RpcError as err:
                code, details = err.code(), err.details() or ""
            undecodable = "request body is not a valid" in details
            raw_codes[code.name + (" (not a valid message)" if undecodable else "")] += 1
            if code not in ALLOWED or undecodable == parses:
                raw_violations.append(f"{method}, {len(body)} bytes, parses: {parses}: {code.name} {details}")

        started = time.perf_counter()
        print(f"fuzz: {args.examples} requests ...", flush=True)
        fuzz()
        report["requests"] = {
            "examples": sum(tally.codes.values()),
            "seconds": round(time.perf_counter() - started, 1),
            "codes": dict(tally.codes),
            "by_rpc": dict(sorted(tally.by_rpc.items())),
            "violations": tally.violations[:50],
            "violation_count": len(tally.violations),
        }
        print(json.dumps(report["requests"], indent=1), flush=True)
        started = time.perf_counter()
        fuzz_raw()
        report["raw_bytes"] = {
            "examples": sum(raw_codes.values()),
            "seconds": round(time.perf_counter() - started, 1),
            "codes": dict(raw_codes),
            "violations": raw_violations[:50],
            "violation_count": len(raw_violations),
        }
        print(json.dumps(report["raw_bytes"], indent=1), flush=True)
        page = server.metrics_page()
        counted = {
            f"{rpc}/{code}": float(value)
            for rpc, code, value in (
                (m["rpc"], m["code"], m["v"])
                for m in re.finditer(r'theraguard_rpc_total\{code="(?P<code>\w+)",rpc="(?P<rpc>\w+)"\} (?P<v>\S+)', page)
            )
        }  # fmt: skip
        alive = server.process.poll() is None
        after = stub.Score(pb.ScoreRequest(reply="Still here for you."), timeout=10)
        report["server"] = {
            "alive_after": alive,
            "serves_after": len(after.scores) == 7,
            "rpc_total_by_code": counted,
            "internal_or_unknown": sum(
                v for k, v in counted.items() if k.endswith(("/INTERNAL", "/UNKNOWN"))
            ),
            "rss_mb_after": round(server.rss_mb(), 1),
        }
        channel.close()
    print(json.dumps(report["server"], indent=1))
    write_report(args.out, report)
    ok = not (tally.violations or raw_violations) and report["server"]["internal_or_unknown"] == 0 and alive
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
