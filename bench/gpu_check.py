"""GPU path check: the bundle's fp16 judge on TensorRT/CUDA against its int8 CPU model, in one run.

    python bench/gpu_check.py --bundle BUNDLE_WITH_FP16 [--out bench/results/gpu_check.json]

Run by bench/gpu_check.sh on a machine with an NVIDIA GPU and onnxruntime-gpu. Steps:
1. environment: GPU, driver, onnxruntime build and the providers it offers;
2. each provider list the sidecar can be configured with ([tensorrt, cuda], [cuda]) through the
   sidecar's own Judge with require_gpu=true: which provider actually runs, or why it cannot start;
3. parity: fp16 on the GPU vs int8 on the CPU over the hand-written probes (max/mean |delta| per
   dimension, and Safety pass/fail agreement at the default policy threshold);
4. speed: batch-1 latency (encode + run) and batch-32 / batch-64 throughput, GPU and CPU in the same run.
Prints a table and writes JSON. Nothing here is asserted: a benchmark reports.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sidecar.bundle import load_bundle  # noqa: E402
from sidecar.config import JudgeConfig  # noqa: E402
from sidecar.domain import DIMENSIONS, Role, Turn  # noqa: E402
from sidecar.judge import Judge, JudgeLoadError  # noqa: E402

PROBES = REPO / "tests" / "probes" / "judge_probes.jsonl"
SAFETY_THRESHOLD = 4.0  # config/policy.yaml's default


def probes() -> list[tuple[tuple[Turn, ...], str]]:
    rows = [json.loads(line) for line in PROBES.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(tuple(Turn(Role(t["role"]), t["text"]) for t in r["context"]), r["reply"]) for r in rows]


def environment() -> dict:
    try:
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=30, check=False,
        ).stdout.strip()  # fmt: skip
    except FileNotFoundError:
        smi = "nvidia-smi not found"
    return {
        "gpu": smi,
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "available_providers": ort.get_available_providers(),
        "cpu": platform.processor() or platform.machine(),
    }


def load_judge(bundle: Path, providers: tuple[str, ...], cache: Path) -> tuple[Judge | None, dict]:
    config = JudgeConfig(bundle=bundle, providers=providers, require_gpu="cpu" not in providers,
                         tensorrt_cache_dir=cache)  # fmt: skip
    started = time.perf_counter()
    try:
        judge = Judge.load(config)
    except JudgeLoadError as err:
        return None, {"providers": list(providers), "error": str(err)}
    load_s = time.perf_counter() - started
    warm_s = judge.warm_up(64)
    return judge, {
        "providers": list(providers),
        "provider_running": judge.provider,
        "model": judge.model_path.name,
        "load_s": round(load_s, 2),
        "warm_up_s": round(warm_s, 2),  # includes the TensorRT engine build on a cold cache
    }


def latency_ms(judge: Judge, pairs, runs: int = 200) -> dict:
    times = []
    for i in range(runs):
        started = time.perf_counter()
        judge.score_batch([pairs[i % len(pairs)]])
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50": round(statistics.median(times), 3), "p95": round(times[int(0.95 * len(times))], 3)}


def throughput(judge: Judge, pairs, batch: int, seconds: float = 5.0) -> float:
    done, at, started = 0, 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        chunk = [pairs[(at + k) % len(pairs)] for k in range(batch)]
        at += batch
        judge.score_batch(chunk)
        done += batch
    return round(done / (time.perf_counter() - started), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True, help="a judge bundle that includes the fp16 model")
    parser.add_argument("--trt-cache", type=Path, default=Path("/tmp/theraguard-trt"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "gpu_check.json")
    args = parser.parse_args()
    if hasattr(ort, "preload_dlls"):
        ort.preload_dlls()  # CUDA/cuDNN from the nvidia-* wheels beside torch, where no system CUDA is installed
    result: dict = {"environment": environment(), "bundle": {}}
    manifest = load_bundle(args.bundle).manifest
    result["bundle"] = {"name": manifest.name, "version": manifest.version, "gpu_model": manifest.models.gpu}
    print(json.dumps(result["environment"], indent=1))

    pairs = probes()
    cpu, cpu_info = load_judge(args.bundle, ("cpu",), args.trt_cache)
    assert cpu is not None, cpu_info
    result["cpu"] = cpu_info
    reference = np.array([s.values for s in cpu.score_batch(pairs)])

    result["gpu"] = []
    for providers in (("tensorrt", "cuda"), ("cuda",)):
        judge, info = load_judge(args.bundle, providers, args.trt_cache)
        print(json.dumps(info))
        if judge is not None:
            scores = np.array([s.values for s in judge.score_batch(pairs)])
            delta = np.abs(scores - reference)
            info["parity_vs_cpu_int8"] = {
                "max_abs_delta": {d: round(float(delta[:, i].max()), 4) for i, d in enumerate(DIMENSIONS)},
                "mean_abs_delta": {d: round(float(delta[:, i].mean()), 4) for i, d in enumerate(DIMENSIONS)},
                "safety_verdict_agreement": round(float(np.mean(
                    (scores[:, 3] >= SAFETY_THRESHOLD) == (reference[:, 3] >= SAFETY_THRESHOLD))), 4),
                "n": len(pairs),
            }  # fmt: skip
            info["latency_batch1_ms"] = latency_ms(judge, pairs)
            info["throughput_per_s"] = {f"batch{b}": throughput(judge, pairs, b) for b in (32, 64)}
            print(json.dumps(info))
        result["gpu"].append(info)

    cpu_info["latency_batch1_ms"] = latency_ms(cpu, pairs, runs=100)
    cpu_info["throughput_per_s"] = {"batch32": throughput(cpu, pairs, 32)}
    print(json.dumps(cpu_info))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
