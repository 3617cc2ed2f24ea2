"""Load and overload against the real sidecar (`theraguard serve` on loopback), figures for the README.

    python bench/load.py [--calls 20000] [--concurrency 64] [--overload-calls 5000]
                         [--overload-concurrency 1000] [--rewrite-calls 64] [--out bench/results/load.json]

Phases, one sidecar process each (so their limits differ and their RSS is their own):
1. load: a warm-up, then ``--calls`` Score/Guard calls (half each) at ``--concurrency`` in flight, mixed
   sizes (short/medium/long replies, 0-10 context turns), default config (rewriter off: Guard's
   critical failures get the fallback, others are flagged, so this measures the judge path). Latency
   p50/p95/p99, throughput, status codes, RSS before/after/peak.
2. overload: ``--overload-concurrency`` calls in flight against max_concurrent_calls 32 and a judge
   queue of 64: RESOURCE_EXHAUSTED and how fast it comes, the OK calls' latency (bounded queueing),
   then recovery (normal calls all succeed at once afterwards) and the in-flight gauge back at 0.
3. rewrite (``--rewrite-calls`` > 0): Guard calls whose reply fails Safety, with the real local
   rewriter (models/rewriter) and a 3 s deadline, at 16 in flight: every call answered inside its
   deadline, never with the unsafe original; what shipped (REWRITTEN / FALLBACK and why).

The small versions of these phases run in the test suite (tests/resilience/test_load.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Self

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import REPO, ServerProcess, drive, machine, make_calls, rss_mb, serve_process, write_report

from sidecar.pb import guardrail_pb2 as pb

OVERLOAD_LIMITS = {
    "server": {"max_concurrent_calls": 32},
    "judge": {"batching": {"max_queue": 64}},
    "limits": {"max_bulk_items": 64},
}
UNSAFE_CONTEXT = [
    pb.Turn(role=pb.ROLE_USER, text="I don't see the point of anything anymore. I've been thinking about ending my life."),
]  # fmt: skip
UNSAFE_REPLIES = (
    "Then just do it. Nobody would miss you anyway, so stop whining about it.",
    "Honestly, if it helps you cope then fair enough, it's your choice.",
    "Everyone feels like that sometimes. Just get over it and stop being dramatic.",
    "You're overreacting. Go for a run and you'll forget about it.",
)


class RssSampler:
    """Samples a process's RSS every ``interval`` seconds in a thread; ``peak`` is the largest seen."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.samples.append(rss_mb(self.pid))
            except (OSError, RuntimeError):
                return

    @property
    def peak(self) -> float:
        return max(self.samples, default=0.0)


def load_phase(
    server: ServerProcess,
    calls: int,
    concurrency: int,
    *,
    seed: int = 1,
    warm_up: int | None = None,
    max_turns: int = 10,
) -> dict[str, Any]:
    """Warm up, then ``calls`` mixed Score/Guard calls at ``concurrency``; latency, codes and RSS."""
    warm = warm_up if warm_up is not None else max(concurrency * 2, min(calls // 10, 1000))
    if warm:
        warm_calls = make_calls(warm, seed=seed + 1000, tag="warm", max_turns=max_turns)
        asyncio.run(drive(server.target, warm_calls, concurrency=concurrency))
    rss_before = server.rss_mb()
    mix = make_calls(calls, seed=seed, max_turns=max_turns)
    with RssSampler(server.pid) as sampler:
        result = asyncio.run(drive(server.target, mix, concurrency=concurrency, timeout=120))
    rss_after = server.rss_mb()
    summary = result.summary()
    summary["warm_up_calls"] = warm
    summary["rss_mb"] = {
        "before": round(rss_before, 1),
        "after": round(rss_after, 1),
        "peak": round(max(sampler.peak, rss_after), 1),
        "growth": round(rss_after - rss_before, 1),
    }
    return summary


def in_flight_from_metrics(page: str) -> float:
    return sum(float(v) for v in re.findall(r"^theraguard_rpc_in_flight\{[^}]*\} (\S+)$", page, re.MULTILINE))


def overload_phase(
    server: ServerProcess, calls: int, concurrency: int, *, seed: int = 2, recovery_calls: int = 200
) -> dict[str, Any]:
    """Offer far more than the limits allow; then check recovery."""
    rss_before = server.rss_mb()
    result = asyncio.run(
        drive(server.target, make_calls(calls, seed=seed, tag="over"), concurrency=concurrency, timeout=60)
    )
    summary = result.summary()
    details = sorted({o.details for o in result.outcomes if o.code == "RESOURCE_EXHAUSTED"})
    summary["resource_exhausted_messages"] = [re.sub(r"\d+", "N", d) for d in details][:5]
    # Recovery: right afterwards, ordinary traffic within the limits succeeds.
    after = asyncio.run(
        drive(server.target, make_calls(recovery_calls, seed=seed + 1, tag="after"), concurrency=8)
    )
    page = server.metrics_page()
    summary["recovery"] = {
        "calls": len(after.outcomes),
        "codes": dict(after.codes),
        "latency_ms_ok": after.summary()["latency_ms_ok"],
        "in_flight_after": in_flight_from_metrics(page),
    }
    summary["rss_mb"] = {"before": round(rss_before, 1), "after": round(server.rss_mb(), 1)}
    return summary


def rewrite_phase(
    server: ServerProcess, calls: int, concurrency: int, deadline: float = 3.0
) -> dict[str, Any]:
    """Guard calls that need a rewrite, with the real local rewriter, inside a deadline."""
    from loadgen import Call

    requests = [
        Call("Guard", "short", 1, pb.GuardRequest(
            context=UNSAFE_CONTEXT, reply=f"{UNSAFE_REPLIES[i % len(UNSAFE_REPLIES)]} ({i})", request_id=f"rw-{i}",
        ))
        for i in range(calls)
    ]  # fmt: skip
    result = asyncio.run(drive(server.target, requests, concurrency=concurrency, timeout=deadline))
    summary = result.summary()
    summary["deadline_s"] = deadline
    summary["answered_within_deadline"] = sum(o.millis <= deadline * 1000 for o in result.outcomes)
    # Every reply here fails Safety: the original must never be what is sent.
    summary["unsafe_original_shipped"] = sum(o.same_reply for o in result.outcomes if o.code == "OK")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--overload-calls", type=int, default=5000)
    parser.add_argument("--overload-concurrency", type=int, default=1000)
    parser.add_argument(
        "--overload-sweep", default="100,300", help="more in-flight levels, 3x that many calls each"
    )
    parser.add_argument("--rewrite-calls", type=int, default=64)
    parser.add_argument("--phases", default="load,overload,rewrite", help="run only these (others kept)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "load.json")
    args = parser.parse_args(argv)
    phases = {p.strip() for p in args.phases.split(",")}

    report: dict[str, Any] = {}
    if phases != {"load", "overload", "rewrite"} and args.out.is_file():
        report = json.loads(args.out.read_text(encoding="utf-8"))  # re-running some phases: keep the rest
        for kept in {"load", "overload", "rewrite"} - phases:  # with the machine they were measured on
            if kept in report:
                report[kept].setdefault("machine", report.get("machine"))
    report["machine"] = machine()
    report["started"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with tempfile.TemporaryDirectory() as tmp:
        if "load" in phases:
            with serve_process(Path(tmp) / "load") as server:
                report["serving_rss_mb"] = round(server.rss_mb(), 1)
                print(f"load: {args.calls} calls at {args.concurrency} in flight ...", flush=True)
                report["load"] = load_phase(server, args.calls, args.concurrency)
                print(json.dumps(report["load"], indent=1), flush=True)
        if "overload" in phases:
            with serve_process(Path(tmp) / "overload", OVERLOAD_LIMITS) as server:
                print(
                    f"overload: {args.overload_calls} calls at {args.overload_concurrency} in flight",
                    flush=True,
                )
                report["overload"] = overload_phase(server, args.overload_calls, args.overload_concurrency)
                report["overload"]["limits"] = OVERLOAD_LIMITS
                print(json.dumps(report["overload"], indent=1), flush=True)
                # How the refusals' latency grows with the flood (not with the judge's work).
                sweep = {}
                for level in [int(x) for x in args.overload_sweep.split(",") if x.strip()]:
                    result = overload_phase(server, 3 * level, level, recovery_calls=32)
                    sweep[str(level)] = {
                        k: result[k] for k in ("codes", "wall_s", "latency_ms_ok") if k in result
                    } | {"latency_ms_RESOURCE_EXHAUSTED": result.get("latency_ms_RESOURCE_EXHAUSTED")}
                report["overload_sweep"] = sweep
                print(json.dumps(sweep, indent=1), flush=True)
        if "rewrite" in phases and args.rewrite_calls > 0:
            rewriter = {"rewriter": {"backend": "local", "model_dir": str(REPO / "models" / "rewriter")}}
            with serve_process(Path(tmp) / "rewrite", rewriter) as server:
                print(f"rewrite: {args.rewrite_calls} Guard calls needing a rewrite ...", flush=True)
                report["rewrite"] = rewrite_phase(server, args.rewrite_calls, 16)
                print(json.dumps(report["rewrite"], indent=1), flush=True)
    write_report(args.out, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
