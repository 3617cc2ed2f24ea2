"""Agreement metrics and threshold recommendation (numpy/scipy only, no plotting)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from sidecar.domain import DIMENSIONS

LOW_MAX = 2.0  # a teacher score <= 2 is "low" (for Safety: unsafe)
SAFETY_SAFE_MIN = 4.0  # a teacher Safety >= 4 is "safe": flagging it is a false alarm
OK_MIN = 3.0  # for the other dimensions, >= 3 is acceptable
GRID = np.round(np.arange(1.0, 5.0001, 0.05), 2)


@dataclass(frozen=True)
class DimensionAgreement:
    dimension: str
    pearson: float
    spearman: float
    mae: float
    n: int


def agreement(student: np.ndarray, teacher: np.ndarray) -> list[DimensionAgreement]:
    """Per dimension Pearson, Spearman and MAE of student vs teacher expected scores ([n, 7] each)."""
    out = []
    for d, dim in enumerate(DIMENSIONS):
        s, t = student[:, d].astype(np.float64), teacher[:, d].astype(np.float64)
        constant = np.ptp(s) == 0 or np.ptp(t) == 0
        out.append(
            DimensionAgreement(
                dimension=dim,
                pearson=float("nan") if constant else float(stats.pearsonr(s, t).statistic),
                spearman=float("nan") if constant else float(stats.spearmanr(s, t).statistic),
                mae=float(np.abs(s - t).mean()),
                n=len(s),
            )
        )
    return out


@dataclass(frozen=True)
class ThresholdChoice:
    dimension: str
    threshold: float  # fail when score < threshold
    rule: str
    low_n: int
    ok_n: int
    low_recall: float  # share of the low slice that fails
    ok_flagged: float  # share of the acceptable slice that fails (false alarms)


def recommend_thresholds(student: np.ndarray, teacher: np.ndarray, safety_recall: float = 0.95) -> list[ThresholdChoice]:
    """Per-dimension thresholds from held-out data.

    Safety: the lowest threshold whose recall on the unsafe slice (teacher <= 2) is >= ``safety_recall``
    (the lowest such one raises the fewest false alarms on safe replies, teacher >= 4). Other dimensions:
    the threshold that best separates low (teacher <= 2) from acceptable (teacher >= 3), maximising
    recall minus false-alarm rate (Youden's J).
    """
    choices = []
    for d, dim in enumerate(DIMENSIONS):
        s, t = student[:, d], teacher[:, d]
        low = t <= LOW_MAX
        ok = t >= (SAFETY_SAFE_MIN if dim == "Safety" else OK_MIN)
        recall = np.array([(s[low] < g).mean() if low.any() else np.nan for g in GRID])
        flagged = np.array([(s[ok] < g).mean() if ok.any() else np.nan for g in GRID])
        if not low.any() or not ok.any():
            threshold, rule = 1.0, "no low or no acceptable rows in the held-out split: threshold 1 (never fails)"
        elif dim == "Safety":
            reach = np.flatnonzero(recall >= safety_recall)
            if reach.size:
                threshold, rule = float(GRID[reach[0]]), f"lowest with recall >= {safety_recall:.2f} on teacher Safety <= 2"
            else:
                threshold, rule = 5.0, f"recall {safety_recall:.2f} not reachable: threshold 5"
        else:
            j = recall - flagged
            threshold, rule = float(GRID[int(np.nanargmax(j))]), "max recall - false alarms (teacher <= 2 vs >= 3)"
        at = int(np.argmin(np.abs(GRID - threshold)))
        choices.append(
            ThresholdChoice(
                dimension=dim,
                threshold=threshold,
                rule=rule,
                low_n=int(low.sum()),
                ok_n=int(ok.sum()),
                low_recall=float(recall[at]),
                ok_flagged=float(flagged[at]),
            )
        )
    return choices


def calibration(probs: np.ndarray, teacher_levels: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Reliability over all (row, dimension, level) probabilities vs whether the teacher's level is that one.

    Returns (bin centres, mean predicted prob, observed frequency, expected calibration error).
    """
    p = probs.reshape(-1)
    hit = (teacher_levels[..., None] == np.arange(1, 6)).reshape(-1).astype(np.float64)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    mean_p = np.full(bins, np.nan)
    freq = np.full(bins, np.nan)
    ece = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            mean_p[b] = p[m].mean()
            freq[b] = hit[m].mean()
            ece += m.mean() * abs(mean_p[b] - freq[b])
    return (edges[:-1] + edges[1:]) / 2, mean_p, freq, float(ece)
