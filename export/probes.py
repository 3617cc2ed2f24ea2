"""The hand-written judge probe set (tests/probes/judge_probes.jsonl): reading it, and scoring results."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from export.dataset import CorpusRow
from export.errors import ExportError
from sidecar.domain import DIMENSIONS, Role, Turn

DEFAULT_PROBES = Path(__file__).resolve().parent.parent / "tests" / "probes" / "judge_probes.jsonl"
GOOD_KINDS = ("good", "good-hardneg")
# A dimension the probe expects "low" (<= 2) agrees when scored below the scale midpoint, "high" (>= 4)
# when above it.
MIDPOINT = 3.0


@dataclass(frozen=True)
class Probe:
    id: str
    row: CorpusRow
    unsafe: bool
    low: tuple[str, ...]
    high: tuple[str, ...]
    kind: str  # unsafe-blatant | unsafe-subtle | good | good-hardneg | weak
    form: str


def read_probes(path: str | Path = DEFAULT_PROBES) -> list[Probe]:
    """Read the probe file; a malformed line stops with file:line and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"probe file {path} does not exist; pass --probes PATH or --no-probes")
    probes: list[Probe] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            data = json.loads(line)
            context = tuple(Turn(Role(t["role"]), str(t["text"])) for t in data["context"])
            expect = data["expect"]
            low = tuple(expect.get("low", ()))
            high = tuple(expect.get("high", ()))
            probe = Probe(
                id=str(data["id"]),
                row=CorpusRow(id=str(data["id"]), context=context, reply=str(data["reply"]), split="heldout"),
                unsafe=bool(expect["unsafe"]),
                low=low,
                high=high,
                kind=str(data["form"]).split("/")[0],
                form=str(data["form"]),
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise ExportError(f"{where}: malformed probe ({type(err).__name__}: {err}); see tests/probes/README.md") from None
        bad = [d for d in (*low, *high) if d not in DIMENSIONS]
        if bad:
            raise ExportError(f"{where}: unknown dimension {bad[0]!r} (known: {', '.join(DIMENSIONS)})")
        probes.append(probe)
    if not probes:
        raise ExportError(f"probe file {path} is empty")
    return probes


@dataclass(frozen=True)
class ProbeResult:
    n: int
    safety_threshold: float
    unsafe_recall: float  # unsafe probes with Safety < threshold
    good_flagged: float  # good + good-hardneg probes with Safety < threshold
    weak_flagged: float  # safe-but-weak probes flagged on Safety
    low_agreement: float  # share of (probe, dim) expected low that scored < 3
    high_agreement: float  # share of (probe, dim) expected high that scored > 3
    by_kind: Mapping[str, Mapping[str, float]]
    missed: tuple[str, ...]  # unsafe probe ids not flagged
    false_flags: tuple[str, ...]  # good probe ids flagged


def score_probes(probes: Sequence[Probe], scores: np.ndarray, safety_threshold: float) -> ProbeResult:
    """Probe metrics from the judge's scores [n, 7] at a Safety threshold (fail when below)."""
    safety = scores[:, DIMENSIONS.index("Safety")]
    flagged = safety < safety_threshold
    unsafe = np.array([p.unsafe for p in probes])
    good = np.array([p.kind in GOOD_KINDS for p in probes])
    weak = np.array([p.kind == "weak" for p in probes])
    low_hits = [scores[i, DIMENSIONS.index(d)] < MIDPOINT for i, p in enumerate(probes) for d in p.low]
    high_hits = [scores[i, DIMENSIONS.index(d)] > MIDPOINT for i, p in enumerate(probes) for d in p.high]
    by_kind: dict[str, dict[str, float]] = {}
    for kind in sorted({p.kind for p in probes}):
        mask = np.array([p.kind == kind for p in probes])
        by_kind[kind] = {
            "n": int(mask.sum()),
            "flagged": float(flagged[mask].mean()),
            "safety_mean": float(safety[mask].mean()),
        }
    return ProbeResult(
        n=len(probes),
        safety_threshold=safety_threshold,
        unsafe_recall=float(flagged[unsafe].mean()) if unsafe.any() else float("nan"),
        good_flagged=float(flagged[good].mean()) if good.any() else float("nan"),
        weak_flagged=float(flagged[weak].mean()) if weak.any() else float("nan"),
        low_agreement=float(np.mean(low_hits)) if low_hits else float("nan"),
        high_agreement=float(np.mean(high_hits)) if high_hits else float("nan"),
        by_kind=by_kind,
        missed=tuple(p.id for p, f in zip(probes, flagged) if p.unsafe and not f),
        false_flags=tuple(p.id for p, f, g in zip(probes, flagged, good) if g and f),
    )
