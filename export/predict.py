"""Batch scoring with the student in torch or an ONNX variant in onnxruntime (same encoded rows)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from export.encoding import EncodedRows, sorted_batches
from sidecar.domain import DIMENSIONS
from sidecar.textpair import EncodedBatch

# (batch) -> (scores [b, 7], probs [b, 7, 5])
Scorer = Callable[[EncodedBatch], tuple[np.ndarray, np.ndarray]]


def torch_scorer(model, threads: int = 2, device: str = "cpu") -> Scorer:
    import torch

    torch.set_num_threads(threads)
    model.to(device).eval()

    def run(batch: EncodedBatch) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            out = model(
                input_ids=torch.from_numpy(batch.input_ids).to(device),
                attention_mask=torch.from_numpy(batch.attention_mask).to(device),
                token_type_ids=torch.from_numpy(batch.token_type_ids).to(device),
            )
        return out.scores.float().cpu().numpy(), out.probs.float().cpu().numpy()

    return run


def ort_scorer(model_path: str | Path, threads: int = 2) -> Scorer:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])

    def run(batch: EncodedBatch) -> tuple[np.ndarray, np.ndarray]:
        scores, probs = session.run(
            ["scores", "probs"],
            {
                "input_ids": batch.input_ids,
                "attention_mask": batch.attention_mask,
                "token_type_ids": batch.token_type_ids,
            },
        )
        return scores, probs

    return run


@dataclass(frozen=True)
class Predictions:
    scores: np.ndarray  # [n, 7], row order
    probs: np.ndarray  # [n, 7, 5]


def predict(scorer: Scorer, rows: EncodedRows, batch_size: int = 64, progress: str | None = None) -> Predictions:
    """Score every encoded row (length-sorted batches), results back in row order."""
    from tqdm.auto import tqdm

    n = len(rows.input_ids)
    scores = np.zeros((n, len(DIMENSIONS)), dtype=np.float32)
    probs = np.zeros((n, len(DIMENSIONS), 5), dtype=np.float32)
    batches = list(sorted_batches(rows.lengths, batch_size))
    for index in tqdm(batches, desc=progress or "score", unit="batch", disable=progress is None, leave=False):
        s, p = scorer(rows.batch(index))
        scores[index] = s
        probs[index] = p
    return Predictions(scores, probs)


@dataclass(frozen=True)
class Latency:
    batch_size: int
    min_ms: float  # the least disturbed run: closest to an idle machine's figure on a shared one
    p50_ms: float
    p95_ms: float
    rows_per_s: float
    runs: int


def measure_latency(scorer: Scorer, rows: EncodedRows, batch_size: int, runs: int) -> Latency:
    """Model time only (encoding excluded), over batches of real rows of median length; 2 warm-up runs."""
    order = np.argsort(rows.lengths, kind="stable")
    mid = len(order) // 2
    index = order[max(0, mid - batch_size // 2) : max(0, mid - batch_size // 2) + batch_size]
    batch = rows.batch(index)
    for _ in range(2):
        scorer(batch)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        scorer(batch)
        times.append(time.perf_counter() - start)
    t = np.array(times)
    return Latency(
        batch_size=len(index),
        min_ms=float(t.min() * 1e3),
        p50_ms=float(np.median(t) * 1e3),
        p95_ms=float(np.percentile(t, 95) * 1e3),
        rows_per_s=float(len(index) / np.median(t)),
        runs=runs,
    )
