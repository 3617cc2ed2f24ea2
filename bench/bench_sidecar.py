"""Sidecar benchmark: serving overhead vs. raw onnxruntime on the same bundle, measured in one run.

    python bench/bench_sidecar.py [--config config/theraguard.yaml] [--seconds 10] [--concurrency 64]

Measures, never two phases at once, raw and sidecar interleaved so drifting machine load hits both:
1. the sidecar as users run it (`theraguard serve`, a subprocess on port 0): time to SERVING, RSS;
2. pair by pair, in turn: raw session.run (batch 1), raw encode + run, and Score over loopback, with
   the very session options the sidecar uses (onnxruntime's defaults reported for reference);
3. throughput A-B-A: raw batch-32, then N concurrent Score calls (grpc.aio client), then raw again;
   also raw batch-32 through the sidecar's length-sorted chunking (the best in-process figure);
4. RSS after the load, and (``--with-rewriter``) start-up and RSS with the config's rewriter.
Workload: the hand-written judge probes (tests/probes/judge_probes.jsonl), cycled in order.
Prints a table and writes bench/results/sidecar.json. Targets (issue 3) are checked and reported,
not asserted: a benchmark informs, it does not flake.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import grpc
import numpy as np
import onnxruntime as ort
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sidecar.config import load_config
from sidecar.domain import Role, Turn
from sidecar.judge import Judge
from sidecar.pb import guardrail_pb2 as pb
from sidecar.pb import guardrail_pb2_grpc as pb_grpc

PROBES = REPO / "tests" / "probes" / "judge_probes.jsonl"
SERVING = re.compile(r"serving on (\S+):(\d+)")
TARGETS = {"score_p50_vs_raw": 1.3, "throughput_vs_raw_batch32": 0.9, "rss_mb": 300.0, "serving_s": 5.0}


def load_workload() -> list[tuple[tuple[Turn, ...], str]]:
    pairs = []
    for line in PROBES.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            context = tuple(Turn(Role(t["role"]), t["text"]) for t in row["context"])
            pairs.append((context, row["reply"]))
    return pairs


def to_pb(pair: tuple[tuple[Turn, ...], str]) -> pb.ScoreRequest:
    roles = {Role.USER: pb.ROLE_USER, Role.ASSISTANT: pb.ROLE_ASSISTANT}
    context, reply = pair
    return pb.ScoreRequest(context=[pb.Turn(role=roles[t.role], text=t.text) for t in context], reply=reply)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


# --- raw onnxruntime, in this process --------------------------------------------------------------


class RawJudge:
    """The bundle's session, opened exactly as the sidecar opens it, driven directly."""

    def __init__(self, config_path: Path, pairs: list) -> None:
        self.judge = Judge.load(load_config(config_path).judge)
        self.session = self.judge._session
        self.pairs = pairs
        self.encoded = [self.judge.encode([p]) for p in pairs]
        # Batches of 32 consecutive probes, padded to their longest: what a plain batch-32 caller runs.
        self.batches = [
            self.judge.encode([pairs[(i + j) % len(pairs)] for j in range(32)])
            for i in range(0, len(pairs), 32)
        ]
        for batch in self.encoded[:20]:
            self.run(batch)

    def run(self, batch) -> None:
        feeds = {
            "input_ids": batch.input_ids,
            "attention_mask": batch.attention_mask,
            "token_type_ids": batch.token_type_ids,
        }
        self.session.run(["scores"], feeds)

    def batch32_rate(self, seconds: float, *, sorted_chunks: bool = False) -> float:
        """Pairs/s over batches of 32: as padded (plain), or through the sidecar's length-sorted chunking."""
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            for batch in self.batches:
                self.judge.run(batch) if sorted_chunks else self.run(batch)
                done += batch.input_ids.shape[0]
        return done / (time.perf_counter() - started)

    def info(self) -> dict:
        model = self.judge.model_path
        plain = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        default_ms = []
        for batch in self.encoded:
            feeds = {
                "input_ids": batch.input_ids,
                "attention_mask": batch.attention_mask,
                "token_type_ids": batch.token_type_ids,
            }
            t = time.perf_counter()
            plain.run(["scores"], feeds)
            default_ms.append((time.perf_counter() - t) * 1000)
        return {
            "provider": self.judge.provider,
            "model": str(model.relative_to(REPO) if model.is_relative_to(REPO) else model),
            "judge": self.judge.version,
            "tokens_per_pair_median": int(
                statistics.median(int(b.attention_mask.sum()) for b in self.encoded)
            ),
            "batch1_run_p50_ms_ort_defaults": percentile(default_ms, 50),
        }


def measure_single(raw: RawJudge, target: str, requests: list[pb.ScoreRequest]) -> dict:
    """Interleaved, pair by pair: raw session.run, raw encode + run, Score over loopback.

    Interleaving keeps the comparison fair on a machine whose other load drifts.
    """
    channel = grpc.insecure_channel(target)
    stub = pb_grpc.GuardrailStub(channel)
    for request in requests[:20]:
        stub.Score(request, timeout=10)
    run_ms, encode_run_ms, score_ms = [], [], []
    for _ in range(3):
        for pair, batch, request in zip(raw.pairs, raw.encoded, requests):
            t = time.perf_counter()
            raw.run(batch)
            run_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            raw.judge.score_batch([pair])
            encode_run_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            stub.Score(request, timeout=10)
            score_ms.append((time.perf_counter() - t) * 1000)
    channel.close()
    return {
        "calls": len(score_ms),
        "raw_run_p50_ms": percentile(run_ms, 50),
        "raw_run_p95_ms": percentile(run_ms, 95),
        "raw_encode_run_p50_ms": percentile(encode_run_ms, 50),
        "score_p50_ms": percentile(score_ms, 50),
        "score_p95_ms": percentile(score_ms, 95),
    }


# --- 2-4. the sidecar --------------------------------------------------------------------------------


def start_sidecar(config_path: Path, tmp: Path, *, rewriter: str) -> tuple[subprocess.Popen[str], str, float]:
    raw = yaml.safe_load(config_path.read_text())
    base = config_path.resolve().parent
    raw["judge"]["bundle"] = str((base / raw["judge"]["bundle"]).resolve())
    raw["policy_file"] = str((base / raw["policy_file"]).resolve())
    raw.setdefault("rewriter", {})
    if "model_dir" in raw["rewriter"]:
        raw["rewriter"]["model_dir"] = str((base / raw["rewriter"]["model_dir"]).resolve())
    if rewriter == "none":
        raw["rewriter"]["backend"] = "none"
    config = tmp / f"bench-{rewriter}.yaml"
    config.write_text(yaml.safe_dump(raw))
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "sidecar.cli", "serve", "--config", str(config),
         "--address", "127.0.0.1:0", "--metrics-address", "", "--log-level", "WARNING"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    ready, _, _ = select.select([process.stdout], [], [], 120)
    line = process.stdout.readline() if ready else ""  # type: ignore[union-attr]
    match = SERVING.search(line)
    if not match:
        process.kill()
        raise SystemExit(f"the sidecar did not report SERVING (got: {line!r}); run it by hand to see why")
    return process, f"127.0.0.1:{match[2]}", time.monotonic() - started


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) in MB of the process and its children (the rewriter runs in a worker)."""
    current = peak = 0.0
    for proc in _tree(pid):
        try:
            text = Path(f"/proc/{proc}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        current += int(fields["VmRSS"].split()[0]) / 1024
        peak += int(fields["VmHWM"].split()[0]) / 1024
    return current, peak


def _tree(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            found += _tree(int(child))
    return found


async def _load(target: str, requests: list[pb.ScoreRequest], concurrency: int, seconds: float) -> dict:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.GuardrailStub(channel)
        codes: Counter[str] = Counter()
        latencies: list[float] = []
        counter = iter(range(10**9))
        stop_at = 0.0
        measuring = False

        async def worker() -> None:
            while time.perf_counter() < stop_at:
                request = requests[next(counter) % len(requests)]
                t = time.perf_counter()
                try:
                    await stub.Score(request, timeout=30)
                    code = "OK"
                except grpc.aio.AioRpcError as err:
                    code = err.code().name
                if measuring:
                    codes[code] += 1
                    latencies.append((time.perf_counter() - t) * 1000)

        stop_at = time.perf_counter() + 1.5  # warm-up: let batches form
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        measuring = True
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "calls": sum(codes.values()),
        "codes": dict(codes),
        "score_per_s": codes["OK"] / elapsed,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
    }


def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "grpcio": grpc.__version__,
        "load_average_at_start": os.getloadavg(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO / "config" / "theraguard.yaml")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each throughput phase")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "sidecar.json")
    parser.add_argument("--with-rewriter", action="store_true",
                        help="also time start-up and RSS with the config's rewriter backend")  # fmt: skip
    args = parser.parse_args()

    pairs = load_workload()
    requests = [to_pb(p) for p in pairs]
    info = machine()
    print(f"machine: {info['cpu']} x{info['cores']}, load {info['load_average_at_start']}", flush=True)
    results: dict = {"machine": info, "workload": f"{len(pairs)} probes from {PROBES.relative_to(REPO)}"}
    with tempfile.TemporaryDirectory() as tmp:
        # Start-up first, while nothing else of ours runs.
        process, target, serving_s = start_sidecar(args.config, Path(tmp), rewriter="none")
        try:
            rss_start, _ = rss_mb(process.pid)
            raw = RawJudge(args.config, pairs)
            single = measure_single(raw, target, requests)
            print(
                f"single: Score p50 {single['score_p50_ms']:.2f} ms, raw {single['raw_run_p50_ms']:.2f} ms",
                flush=True,
            )
            # Throughput A-B-A: raw batch-32, the sidecar at N concurrent, raw again; raw = the mean.
            raw_before = raw.batch32_rate(args.seconds / 2)
            load = asyncio.run(_load(target, requests, args.concurrency, args.seconds))
            raw_after = raw.batch32_rate(args.seconds / 2)
            raw_sorted = raw.batch32_rate(args.seconds / 2, sorted_chunks=True)
            rss_end, rss_peak = rss_mb(process.pid)
        finally:
            process.terminate()
            process.wait(30)
        results["raw"] = raw.info() | {
            "batch1_run_p50_ms": single["raw_run_p50_ms"],
            "batch1_run_p95_ms": single["raw_run_p95_ms"],
            "batch1_encode_run_p50_ms": single["raw_encode_run_p50_ms"],
            "batch32_pairs_per_s": (raw_before + raw_after) / 2,
            "batch32_pairs_per_s_before_after": [raw_before, raw_after],
            "batch32_sorted_chunks_pairs_per_s": raw_sorted,
        }
        del raw
        results["sidecar"] = {
            "rewriter": "none",
            "serving_s": serving_s,
            "rss_mb_after_start": rss_start,
            "rss_mb_after_load": rss_end,
            "rss_mb_peak": rss_peak,
            "single": {k: v for k, v in single.items() if not k.startswith("raw_")},
            "load": load,
        }
        if args.with_rewriter:
            process, _target, serving_rw = start_sidecar(args.config, Path(tmp), rewriter="config")
            try:
                rss_rw, _ = rss_mb(process.pid)
            finally:
                process.terminate()
                process.wait(30)
            results["sidecar_with_rewriter"] = {"serving_s": serving_rw, "rss_mb_after_start": rss_rw}

    raw = results["raw"]
    side = results["sidecar"]
    ratios = {
        "score_p50_vs_raw": side["single"]["score_p50_ms"] / raw["batch1_run_p50_ms"],
        "score_p50_vs_raw_encode_run": side["single"]["score_p50_ms"] / raw["batch1_encode_run_p50_ms"],
        "throughput_vs_raw_batch32": side["load"]["score_per_s"] / raw["batch32_pairs_per_s"],
        "throughput_vs_raw_sorted_chunks": side["load"]["score_per_s"]
        / raw["batch32_sorted_chunks_pairs_per_s"],
    }
    results["ratios"] = ratios
    results["targets"] = {
        "score_p50_vs_raw": {"target": "<= 1.3", "value": ratios["score_p50_vs_raw"], "met": ratios["score_p50_vs_raw"] <= 1.3},
        "throughput_vs_raw_batch32": {
            "target": ">= 0.9", "value": ratios["throughput_vs_raw_batch32"],
            "met": ratios["throughput_vs_raw_batch32"] >= 0.9,
        },
        "rss_mb": {"target": "<= 300", "value": side["rss_mb_peak"], "met": side["rss_mb_peak"] <= 300},
        "serving_s": {"target": "<= 5", "value": serving_s, "met": serving_s <= 5},
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")

    rows = [
        ("raw session.run, batch 1, p50", f"{raw['batch1_run_p50_ms']:.2f} ms"),
        ("raw encode + run, batch 1, p50", f"{raw['batch1_encode_run_p50_ms']:.2f} ms"),
        ("raw session.run, onnxruntime defaults, p50", f"{raw['batch1_run_p50_ms_ort_defaults']:.2f} ms"),
        ("raw batch-32 throughput", f"{raw['batch32_pairs_per_s']:.0f} pairs/s"),
        ("raw batch-32, length-sorted chunks (as the sidecar runs)", f"{raw['batch32_sorted_chunks_pairs_per_s']:.0f} pairs/s"),
        ("Score over loopback, 1 call at a time, p50 / p95", f"{side['single']['score_p50_ms']:.2f} / {side['single']['score_p95_ms']:.2f} ms"),
        (f"Score at {args.concurrency} concurrent, throughput", f"{side['load']['score_per_s']:.0f} calls/s"),
        (f"Score at {args.concurrency} concurrent, p50 / p95 / p99",
         f"{side['load']['p50_ms']:.0f} / {side['load']['p95_ms']:.0f} / {side['load']['p99_ms']:.0f} ms"),
        ("status codes under load", ", ".join(f"{k} {v}" for k, v in side["load"]["codes"].items())),
        ("time to SERVING", f"{serving_s:.2f} s"),
        ("RSS after start / after load / peak", f"{side['rss_mb_after_start']:.0f} / {side['rss_mb_after_load']:.0f} / {side['rss_mb_peak']:.0f} MB"),
    ]  # fmt: skip
    if "sidecar_with_rewriter" in results:
        rw = results["sidecar_with_rewriter"]
        rows.append(
            (
                "with the rewriter: SERVING / RSS",
                f"{rw['serving_s']:.2f} s / {rw['rss_mb_after_start']:.0f} MB",
            )
        )
    width = max(len(r[0]) for r in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print()
    for name, target in results["targets"].items():
        print(
            f"{name:<28} {target['value']:8.2f}  target {target['target']:<7} {'met' if target['met'] else 'MISSED'}"
        )
    print(f"\nwrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
