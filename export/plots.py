"""PNG plots for the validation report (matplotlib, Agg backend, small files)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from export.metrics import GRID, LOW_MAX, SAFETY_SAFE_MIN, ThresholdChoice, calibration
from sidecar.domain import DIMENSIONS

_DPI = 80


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def scatter(student: np.ndarray, teacher: np.ndarray, path: Path, seed: int = 0) -> Path:
    """Student vs teacher score per dimension (teacher jittered so integer levels do not overlap)."""
    plt = _plt()
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(2, 4, figsize=(13, 6.5))
    for d, ax in enumerate(axes.flat):
        if d >= len(DIMENSIONS):
            ax.axis("off")
            continue
        jitter = rng.uniform(-0.15, 0.15, size=len(teacher))
        ax.scatter(teacher[:, d] + jitter, student[:, d], s=3, alpha=0.25, color="tab:blue", rasterized=True)
        ax.plot([1, 5], [1, 5], color="grey", lw=0.8)
        ax.set_title(DIMENSIONS[d], fontsize=10)
        ax.set_xlim(0.6, 5.4)
        ax.set_ylim(0.6, 5.4)
        ax.set_xlabel("teacher", fontsize=8)
        ax.set_ylabel("student (int8)", fontsize=8)
    fig.suptitle("Held-out: student (int8 ONNX) vs teacher, per dimension")
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI)
    plt.close(fig)
    return path


def confusion(student: np.ndarray, teacher: np.ndarray, path: Path) -> Path:
    """Row-normalised confusion of rounded student level vs teacher level, per dimension."""
    plt = _plt()
    fig, axes = plt.subplots(2, 4, figsize=(13, 6.5))
    s_lvl = np.clip(np.rint(student), 1, 5).astype(int)
    t_lvl = np.clip(np.rint(teacher), 1, 5).astype(int)
    for d, ax in enumerate(axes.flat):
        if d >= len(DIMENSIONS):
            ax.axis("off")
            continue
        m = np.zeros((5, 5))
        np.add.at(m, (t_lvl[:, d] - 1, s_lvl[:, d] - 1), 1)
        norm = m / np.maximum(m.sum(1, keepdims=True), 1)
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        for i in range(5):
            for j in range(5):
                if m[i, j]:
                    ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 0.5 else "black")  # fmt: skip
        ax.set_xticks(range(5), labels=range(1, 6))
        ax.set_yticks(range(5), labels=range(1, 6))
        ax.set_xlabel("student level (rounded)", fontsize=8)
        ax.set_ylabel("teacher level", fontsize=8)
        ax.set_title(DIMENSIONS[d], fontsize=10)
    fig.suptitle("Held-out confusion (counts; colour = share of the teacher level)")
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI)
    plt.close(fig)
    return path


def calibration_plot(probs: np.ndarray, teacher_levels: np.ndarray, path: Path) -> tuple[Path, float]:
    """Reliability diagram of the 5-way distributions, pooled and per dimension; returns (path, ECE)."""
    plt = _plt()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    centres, mean_p, freq, ece = calibration(probs, teacher_levels)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
    ax.plot(mean_p, freq, marker="o", label=f"all dimensions (ECE {ece:.3f})")
    ax.set_xlabel("predicted probability of a level")
    ax.set_ylabel("observed frequency of that teacher level")
    ax.set_title("Calibration of probs (pooled)")
    ax.legend(fontsize=8)
    ax2.plot([0, 1], [0, 1], color="grey", lw=0.8)
    for d, dim in enumerate(DIMENSIONS):
        _, mp, fr, e = calibration(probs[:, d : d + 1], teacher_levels[:, d : d + 1])
        ax2.plot(mp, fr, marker=".", lw=0.8, label=f"{dim} ({e:.3f})")
    ax2.set_xlabel("predicted probability of a level")
    ax2.set_title("Per dimension (ECE)")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI)
    plt.close(fig)
    return path, ece


def safety_threshold(student: np.ndarray, teacher: np.ndarray, choice: ThresholdChoice, path: Path,
                     probe_curve: tuple[np.ndarray, np.ndarray] | None = None) -> Path:  # fmt: skip
    """Unsafe recall and false-alarm share vs the Safety threshold, held-out (and probes when given)."""
    plt = _plt()
    d = DIMENSIONS.index("Safety")
    s, t = student[:, d], teacher[:, d]
    low, safe = t <= LOW_MAX, t >= SAFETY_SAFE_MIN
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(GRID, [(s[low] < g).mean() for g in GRID], label="held-out recall (teacher Safety <= 2)")
    ax.plot(GRID, [(s[safe] < g).mean() for g in GRID], label="held-out flagged (teacher Safety >= 4)")
    if probe_curve is not None:
        ax.plot(GRID, probe_curve[0], ls="--", label="probe unsafe recall")
        ax.plot(GRID, probe_curve[1], ls="--", label="probe good replies flagged")
    ax.axvline(choice.threshold, color="black", lw=0.8, ls=":")
    ax.text(choice.threshold, 0.5, f" recommended {choice.threshold:.2f}", fontsize=8)
    ax.set_xlabel("Safety threshold (fail when score < threshold)")
    ax.set_ylabel("share")
    ax.set_title("Safety threshold trade-off")
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI)
    plt.close(fig)
    return path


def probe_curves(safety_scores: np.ndarray, unsafe: Sequence[bool], good: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    unsafe_a, good_a = np.asarray(unsafe), np.asarray(good)
    return (
        np.array([(safety_scores[unsafe_a] < g).mean() for g in GRID]),
        np.array([(safety_scores[good_a] < g).mean() for g in GRID]),
    )
