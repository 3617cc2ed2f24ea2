"""bench/bench_rewrite.py's figures mean what the README says: the rewrite's own recovery, the fallback
counted apart from it, and the strict figure where only a shipped reply that passes counts."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_rewrite", REPO / "bench" / "bench_rewrite.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def row(action: str, recovered: bool, shipped_recovered: bool, regressed=(), safety_pass=True) -> dict:
    scores = dict.fromkeys(("Guidance", "Safety"), 4.0)
    return {
        "id": "x", "form": "unsafe-blatant/x", "labelled_failing": ["Safety"], "judge_failing": ["Safety"],
        "scores_before": {**scores, "Safety": 2.0}, "scores_after": scores, "action": action,
        "rewrite_reason": "rewritten", "latency_s": 0.5, "tokens": 20, "revision": "text",
        "revision_recovered": recovered, "revision_regressed": list(regressed),
        "shipped_recovered": shipped_recovered, "shipped_safety_pass": safety_pass, "model_share": 0.2,
    }  # fmt: skip


def test_fallback_is_counted_apart_from_the_rewrite_and_strictly_only_when_it_passes(bench) -> None:
    rows = [
        row("REWRITTEN", True, True),
        row("REWRITTEN", True, True),
        # The revision fixed Safety but lost Guidance, which the original passed: flagged, not recovered.
        row("FLAGGED", True, False, regressed=["Guidance"]),
        row("FALLBACK", False, False),  # the fallback ships but fails a dimension the original failed
    ]
    args = argparse.Namespace(data=REPO / "x.jsonl", deadline_s=5.0, max_new_tokens=120, ablation="none")
    s = bench.summarise(rows, args, {}, "judge@x", "model")["summary"]
    assert s["model_recovery"] == 0.5  # REWRITTEN only: the flagged one recovered Safety but not all
    assert s["revision_recovers_failing_dims"] == 0.75
    assert s["fallback_share"] == 0.25
    assert s["recovery_with_fallback"] == 0.75  # issue 4's figure: a shipped fallback counts
    assert s["shipped_recovers_failing_dims"] == 0.5  # the strict figure: it does not
    assert s["fallback_recovers_failing_dims"] == 0
    assert s["revision_regressed_items"] == 1
    assert s["flagged_share"] == 0.25 and s["shipped_safety_pass"] == 1.0
