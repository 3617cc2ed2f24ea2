"""Target score vectors: realistic ones (clinician rows), independent ones, and coherence rules.

A corpus of only clinician-like vectors would teach a judge that the dimensions move together
(Safety is ~84 % fives there and the rest correlate 0.3-0.9), so half the targets are drawn per
dimension independently and low Safety is oversampled. A few coherence rules then remove
combinations no reply text can honestly carry (an entirely off-topic reply cannot show deep
understanding of the user's situation).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from sidecar.domain import DIMENSIONS

Vector = tuple[int, ...]  # 7 levels in DIMENSIONS order

_IDX = {d: k for k, d in enumerate(DIMENSIONS)}
# Safety levels for independently drawn targets: about a third at <= 2 so the unsafe slice is learnable,
# and most of the rest at 5: the middle levels hinge on one mild line, and when they were as common as
# 5 the student pulled every unfamiliar safe reply towards the middle of the scale.
_INDEPENDENT_SAFETY_WEIGHTS = (16, 16, 10, 12, 46)
# Per-dimension marginals used only when the clinician table is absent (rounded, written here by hand
# from the published shape of the scores: mostly 4-5, Safety and Relevance highest).
_FALLBACK_MARGINALS: dict[str, tuple[float, ...]] = {
    "Guidance": (0.05, 0.05, 0.25, 0.40, 0.25),
    "Informativeness": (0.03, 0.06, 0.16, 0.36, 0.39),
    "Relevance": (0.01, 0.01, 0.09, 0.21, 0.68),
    "Safety": (0.01, 0.01, 0.04, 0.10, 0.84),
    "Empathy": (0.02, 0.04, 0.21, 0.36, 0.37),
    "Helpfulness": (0.02, 0.05, 0.19, 0.41, 0.33),
    "Understanding": (0.01, 0.02, 0.09, 0.19, 0.69),
}


def _clip(x: int) -> int:
    return 1 if x < 1 else 5 if x > 5 else x


def _latent_row(rng: random.Random) -> Vector:
    """A correlated vector from one shared 'quality' factor mapped through the fallback marginals."""
    q = rng.gauss(0.0, 1.0)
    out = []
    for d in DIMENSIONS:
        z = 0.75 * q + math.sqrt(1 - 0.75**2) * rng.gauss(0.0, 1.0)
        p = 0.5 * (1 + math.erf(z / math.sqrt(2)))
        acc = 0.0
        level = 5
        for k, share in enumerate(_FALLBACK_MARGINALS[d], 1):
            acc += share
            if p <= acc:
                level = k
                break
        out.append(level)
    return tuple(out)


def sample_target(rng: random.Random, clinician: Sequence[Vector], independent_share: float = 0.55) -> tuple[Vector, str]:
    """Draw one target vector and name its source ("clinician", "latent" or "independent")."""
    if rng.random() < independent_share:
        levels = [rng.randint(1, 5) for _ in DIMENSIONS]
        levels[_IDX["Safety"]] = rng.choices((1, 2, 3, 4, 5), weights=_INDEPENDENT_SAFETY_WEIGHTS)[0]
        return constrain(tuple(levels)), "independent"
    if clinician:
        row = list(rng.choice(clinician))
        if rng.random() < 0.3:  # jitter one dimension so the table's exact rows don't dominate
            k = rng.randrange(len(DIMENSIONS))
            row[k] = _clip(row[k] + rng.choice((-1, 1)))
        return constrain(tuple(row)), "clinician"
    return constrain(_latent_row(rng)), "latent"


def _cap(v: list[int], dim: str, most: int) -> None:
    v[_IDX[dim]] = min(v[_IDX[dim]], _clip(most))


def _floor(v: list[int], dim: str, least: int) -> None:
    v[_IDX[dim]] = max(v[_IDX[dim]], _clip(least))


def constrain(vector: Vector) -> Vector:
    """Move a vector to the nearest one a reply can honestly realise. Safety is never changed.

    Rules (each says why a reply cannot be otherwise):
    - Understanding <= Relevance + 1: a reply about another concern cannot reflect this one well.
    - Understanding >= Relevance - 2: advice focused on the concern shows some grasp of it.
    - Empathy <= Understanding + 2: full validation needs the feelings read right.
    - Guidance, Informativeness <= Relevance + 1: steps for another problem are not guidance here.
    - |Guidance - Informativeness| <= 2: specific steps carry information and vice versa.
    - Helpfulness <= Empathy + 2 and Empathy <= Helpfulness + 3: support needs some warmth.
    - Helpfulness <= Safety + 2 when Safety <= 2: harmful content does not calm or support.
    """
    v = list(vector)
    for _ in range(3):
        r, s = v[_IDX["Relevance"]], v[_IDX["Safety"]]
        _cap(v, "Understanding", r + 1)
        _floor(v, "Understanding", r - 2)
        _cap(v, "Empathy", v[_IDX["Understanding"]] + 2)
        _cap(v, "Guidance", r + 1)
        _cap(v, "Informativeness", r + 1)
        g, i = v[_IDX["Guidance"]], v[_IDX["Informativeness"]]
        if abs(g - i) > 2:
            if g > i:
                _cap(v, "Guidance", i + 2)
            else:
                _cap(v, "Informativeness", g + 2)
        _cap(v, "Helpfulness", v[_IDX["Empathy"]] + 2)
        _floor(v, "Empathy", v[_IDX["Helpfulness"]] - 3)
        if s <= 2:
            _cap(v, "Helpfulness", s + 2)
    return tuple(v)


def apply_caps(vector: Vector, caps: dict[str, int]) -> Vector:
    """Lower named dimensions to at most the given level (context or safety-form limits)."""
    v = list(vector)
    for dim, most in caps.items():
        _cap(v, dim, most)
    return tuple(v)


def apply_floors(vector: Vector, floors: dict[str, int]) -> Vector:
    v = list(vector)
    for dim, least in floors.items():
        _floor(v, dim, least)
    return tuple(v)


def correlation_matrix(rows: Sequence[Vector]) -> list[list[float | None]]:
    """Pearson correlation between dimensions (None where a dimension is constant)."""
    n = len(rows)
    if n < 2:
        return [[None] * len(DIMENSIONS) for _ in DIMENSIONS]
    cols = list(zip(*rows))
    means = [sum(c) / n for c in cols]
    sds = [math.sqrt(sum((x - m) ** 2 for x in c) / n) for c, m in zip(cols, means)]
    out: list[list[float | None]] = []
    for a in range(len(cols)):
        line: list[float | None] = []
        for b in range(len(cols)):
            if sds[a] == 0 or sds[b] == 0:
                line.append(None)
                continue
            cov = sum((x - means[a]) * (y - means[b]) for x, y in zip(cols[a], cols[b])) / n
            line.append(round(cov / (sds[a] * sds[b]), 3))
        out.append(line)
    return out


def histograms(rows: Sequence[Vector]) -> dict[str, dict[str, int]]:
    """Per-dimension counts of each level 1-5."""
    out = {d: {str(k): 0 for k in range(1, 6)} for d in DIMENSIONS}
    for row in rows:
        for d, level in zip(DIMENSIONS, row):
            out[d][str(level)] += 1
    return out
