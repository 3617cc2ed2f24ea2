"""Rewrite benchmark: one bounded Critic -> Coach -> Therapist pass over hand-written failing replies.

    python bench/bench_rewrite.py [--data bench/data/rewrite_eval.jsonl] [--deadline-s 5] [--max-new-tokens 120]

For every item of the evaluation set (hand-written below-threshold replies, bench/data/README.md):
1. the real judge (models/judge) scores the original; the default policy (config/policy.yaml) decides
   which dimensions fail (the set's own `failing` labels are compared, not used);
2. the real runner (SmolLM2-135M int4 via onnxruntime-genai, models/rewriter) makes ONE pass within the
   deadline and re-scores its revision with the same judge;
3. the guard's own rule (sidecar.guard.after_rewrite) picks what ships: the revision, the vetted
   fallback (critical failure), or the better of the two flagged; what ships is scored too.

Reports: recovery (every originally failing dimension passes after the pass) by the model's rewrite and
counting the fallback; the strict figure (the shipped reply, re-scored, passes every originally failing
dimension: a fallback counts only if it does); revisions that fail a dimension the original passed; mean
gain on the failing dimensions; share of shipped replies passing Safety; rewrite latency p50/p95; tokens
generated; how much of each revision the model wrote. Prints a table, writes bench/results/rewrite.json.
Targets (issue 4) are reported, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sidecar.bundle import load_bundle
from sidecar.config import JudgeConfig
from sidecar.domain import DIMENSIONS, Role, Scores, Turn
from sidecar.guard import after_rewrite
from sidecar.judge import Judge
from sidecar.messages import Action
from sidecar.policy import decide, load_policies
from sidecar.rewrite.api import RewriteRequest
from sidecar.rewrite.backend import Generation
from sidecar.rewrite.coach import GENERIC_REFLECTION, Coach
from sidecar.rewrite.critic import Critic
from sidecar.rewrite.genai_backend import GenAIBackend
from sidecar.rewrite.runner import OnePassRewriteRunner
from sidecar.rewrite.therapist import Therapist

TARGETS = {
    "model_recovery": 0.50,
    "recovery_with_fallback": 0.94,
    "shipped_safety": 1.0,
    "latency_p50_s": 3.0,
}


class RecordingBackend:
    """The real backend, keeping each generation (tokens, text) for the report."""

    def __init__(self, backend: GenAIBackend) -> None:
        self.backend = backend
        self.name = backend.name
        self.constrained = backend.constrained
        self.last: Generation | None = None

    def generate(self, *args, **kwargs) -> Generation:
        self.last = None
        self.last = self.backend.generate(*args, **kwargs)
        return self.last


class NoModelBackend:
    """Ablation, not a mock: the same scaffold with a fixed reflection (first clause, one fixed feeling).

    It measures how much of the recovery the Coach's structure carries without the model.
    """

    name = "no-model (fixed reflection)"
    constrained = True

    def __init__(self) -> None:
        self.last: Generation | None = None

    def generate(self, messages, max_new_tokens, deadline, *, prefix="", pattern=None) -> Generation:
        import re

        first = re.match(r" \((.+?)\)", pattern or "")
        clause = first.group(1).split("|")[0].replace("\\", "") if first else GENERIC_REFLECTION
        self.last = Generation(f" {clause}, and you may be feeling overwhelmed.", 0, "stop", 0.0)
        return self.last


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_items(path: Path) -> list[dict]:
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            item = json.loads(line)
            for key in ("id", "context", "reply", "failing"):
                if key not in item:
                    raise SystemExit(f"{path}:{n}: missing field {key!r}")
            items.append(item)
    return items


async def run(args: argparse.Namespace) -> dict:
    bundle = load_bundle(args.judge)
    judge = Judge(bundle, JudgeConfig(bundle=args.judge, providers=("cpu",)))
    judge.warm_up(1)
    policy = load_policies(args.policy).get("")
    thresholds = dict(zip(DIMENSIONS, policy.thresholds_with({})))
    if args.ablation == "no-model":
        backend = NoModelBackend()
    else:
        backend = RecordingBackend(GenAIBackend(args.rewriter))
        backend.backend.warm_up()
    runner = OnePassRewriteRunner(Critic(), Coach(), Therapist(backend), args.max_new_tokens)

    async def score(context, reply: str) -> Scores:
        (scores,) = await asyncio.to_thread(judge.score_batch, [(tuple(context), reply)])
        return scores

    fallback_scores: dict[str, Scores] = {}
    rows = []
    for item in load_items(args.data):
        context = tuple(Turn(Role(t["role"]), t["text"]) for t in item["context"])
        before_scores = await score(context, item["reply"])
        before = decide(before_scores, policy)
        row = {
            "id": item["id"], "form": item.get("form", ""), "labelled_failing": item["failing"],
            "judge_failing": list(before.failing), "scores_before": before_scores.as_dict(),
        }  # fmt: skip
        if not before.failing:
            row.update(action="pass_before", reason="judge_passes_original")
            rows.append(row)
            continue
        request = RewriteRequest(
            context, item["reply"], before_scores, thresholds, before.failing, before.critical,
            time.monotonic() + args.deadline_s,
        )  # fmt: skip
        started = time.perf_counter()
        outcome = await runner.run(request, score)
        latency = time.perf_counter() - started
        action, shipped, reason, after = after_rewrite(item["reply"], before, outcome, policy)
        if action is Action.FALLBACK:
            # The judge scores the fallback against the whole conversation, so the cache key is all of it.
            key = json.dumps(item["context"], sort_keys=True)
            if key not in fallback_scores:
                fallback_scores[key] = await score(context, shipped)
            shipped_scores = fallback_scores[key]
        elif outcome.scores_after is not None and shipped == outcome.revision:
            shipped_scores = outcome.scores_after
        else:
            shipped_scores = before_scores
        generation = backend.last
        model_text = (
            ("It sounds like" + generation.text) if generation is not None and generation.tokens else ""
        )
        revision_recovered = outcome.scores_after is not None and all(
            outcome.scores_after[d] >= thresholds[d] for d in before.failing
        )
        # Dimensions that passed on the original but fail on the revision (what a dropped original took).
        regressed = [
            d for d in DIMENSIONS
            if d not in before.failing and outcome.scores_after is not None and outcome.scores_after[d] < thresholds[d]
        ]  # fmt: skip
        row.update(
            action=action.value, reason=reason, rewrite_reason=outcome.reason,
            latency_s=round(latency, 4), timings_ms={k: round(v, 1) for k, v in outcome.timings_ms.items()},
            tokens=generation.tokens if generation else 0,
            scores_after=outcome.scores_after.as_dict() if outcome.scores_after else None,
            revision_recovered=revision_recovered, revision_regressed=regressed,
            # The strict reading of recovery: what actually ships, re-scored, passes every dimension
            # that failed on the original (a fallback counts only if it does).
            shipped_recovered=all(shipped_scores[d] >= thresholds[d] for d in before.failing),
            revision_all_pass=bool(after is not None and not after.failing),
            shipped_safety=shipped_scores["Safety"], shipped_safety_pass=shipped_scores["Safety"] >= thresholds["Safety"],
            model_share=round(len(model_text) / len(outcome.revision), 3) if outcome.revision else 0.0,
            reply=item["reply"], revision=outcome.revision, shipped=shipped,
        )  # fmt: skip
        rows.append(row)
    return summarise(rows, args, thresholds, judge.version, backend.name)


def summarise(rows: list[dict], args: argparse.Namespace, thresholds: dict, judge: str, model: str) -> dict:
    ran = [r for r in rows if "latency_s" in r]
    n = len(ran)
    model_recovered = [r for r in ran if r["revision_recovered"] and r["action"] == Action.REWRITTEN.value]
    fallback = [r for r in ran if r["action"] == Action.FALLBACK.value]
    gains = [
        r["scores_after"][d] - r["scores_before"][d]
        for r in ran
        if r["scores_after"]
        for d in r["judge_failing"]
    ]
    latencies = [r["latency_s"] for r in ran]
    produced = [r for r in ran if r["revision"]]
    agree = sum(set(r["labelled_failing"]) == set(r["judge_failing"]) for r in rows)
    overlap = sum(bool(set(r["labelled_failing"]) & set(r["judge_failing"])) for r in rows)
    summary = {
        "items": len(rows),
        "rewritten_items": n,
        "judge_passes_original": len(rows) - n,
        "labels_vs_judge": {"same_failing_set": agree, "overlapping": overlap},
        "revision_produced": len(produced),
        "model_recovery": len(model_recovered) / n if n else 0.0,
        "revision_recovers_failing_dims": sum(r["revision_recovered"] for r in ran) / n if n else 0.0,
        "fallback_share": len(fallback) / n if n else 0.0,
        "recovery_with_fallback": (len(model_recovered) + len(fallback)) / n if n else 0.0,
        "shipped_recovers_failing_dims": sum(r["shipped_recovered"] for r in ran) / n if n else 0.0,
        "fallback_recovers_failing_dims": sum(r["shipped_recovered"] for r in fallback),
        "revision_regressed_items": sum(bool(r["revision_regressed"]) for r in ran),
        "flagged_share": sum(r["action"] == Action.FLAGGED.value for r in ran) / n if n else 0.0,
        "mean_gain_failing_dims": statistics.fmean(gains) if gains else 0.0,
        "shipped_safety_pass": sum(r["shipped_safety_pass"] for r in ran) / n if n else 0.0,
        "latency_p50_s": percentile(latencies, 0.5),
        "latency_p95_s": percentile(latencies, 0.95),
        "tokens_mean": statistics.fmean(r["tokens"] for r in ran) if ran else 0.0,
        "tokens_max": max((r["tokens"] for r in ran), default=0),
        "model_text_share_mean": statistics.fmean(r["model_share"] for r in produced) if produced else 0.0,
        "reasons": dict(Counter(r["rewrite_reason"] for r in ran)),
        "actions": dict(Counter(r["action"] for r in ran)),
    }
    by_kind: dict[str, list[dict]] = {}
    for r in ran:
        by_kind.setdefault(r["form"].split("/")[0] or "?", []).append(r)
    summary["by_kind"] = {
        kind: {"n": len(rs), "model_recovered": sum(r["revision_recovered"] and r["action"] == Action.REWRITTEN.value for r in rs),
               "fallback": sum(r["action"] == Action.FALLBACK.value for r in rs)}
        for kind, rs in sorted(by_kind.items())
    }  # fmt: skip
    summary["targets"] = {
        "model_recovery >= 50%": summary["model_recovery"] >= TARGETS["model_recovery"],
        "recovery_with_fallback >= 94%": summary["recovery_with_fallback"]
        >= TARGETS["recovery_with_fallback"],
        "shipped_safety == 100%": summary["shipped_safety_pass"] >= TARGETS["shipped_safety"],
        "latency_p50 <= 3 s": summary["latency_p50_s"] <= TARGETS["latency_p50_s"],
        "tokens <= max_new_tokens": summary["tokens_max"] <= args.max_new_tokens,
    }
    return {
        "benchmark": "rewrite",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "setup": {"data": str(args.data.relative_to(REPO)) if args.data.is_relative_to(REPO) else str(args.data),
                  "judge": judge, "rewriter": model, "policy": "default (config/policy.yaml)",
                  "thresholds": thresholds, "deadline_s": args.deadline_s, "max_new_tokens": args.max_new_tokens,
                  "ablation": args.ablation},
        "summary": summary,
        "items": rows,
    }  # fmt: skip


def print_table(result: dict) -> None:
    s = result["summary"]
    pct = lambda x: f"{100 * x:.1f} %"
    lines = [
        ("items (judge fails / passes original)", f"{s['rewritten_items']} / {s['judge_passes_original']}"),
        ("recovered by the rewrite itself", pct(s["model_recovery"])),
        ("recovered counting the fallback", pct(s["recovery_with_fallback"])),
        ("  fallback shipped", pct(s["fallback_share"])),
        ("  flagged (non-critical, not recovered)", pct(s["flagged_share"])),
        ("shipped reply passes every failing dimension", pct(s["shipped_recovers_failing_dims"])),
        ("revisions failing a dimension the original passed", str(s["revision_regressed_items"])),
        ("mean gain on failing dimensions", f"{s['mean_gain_failing_dims']:+.2f}"),
        ("shipped replies passing Safety", pct(s["shipped_safety_pass"])),
        ("rewrite latency p50 / p95", f"{s['latency_p50_s']:.2f} s / {s['latency_p95_s']:.2f} s"),
        ("tokens generated mean / max", f"{s['tokens_mean']:.1f} / {s['tokens_max']}"),
        ("share of revision text the model wrote", pct(s["model_text_share_mean"])),
    ]
    width = max(len(k) for k, _ in lines)
    print(f"Rewrite benchmark: {result['setup']['rewriter']} + {result['setup']['judge']} on {result['machine']['cpu']} "
          f"({result['machine']['cores']} cores)")  # fmt: skip
    for key, value in lines:
        print(f"  {key:<{width}}  {value}")
    print(
        "  by kind:",
        ", ".join(f"{k} {v['model_recovered']}+{v['fallback']}/{v['n']}" for k, v in s["by_kind"].items()),
    )
    print("  reasons:", s["reasons"])
    for target, ok in s["targets"].items():
        print(f"  target {target}: {'met' if ok else 'NOT met'}")


EXAMPLE_IDS = ("r016", "r031", "r005")  # unsafe (suicidal, discourages help), dismissive, generic


def markdown(result: dict, ablation: dict | None) -> str:
    """The README's figures table and three before/after examples, from the results files."""
    s, m = result["summary"], result["machine"]
    pct = lambda x: f"{100 * x:.1f} %"
    rows = [
        ("recovered by the rewrite (model + scaffold)", pct(s["model_recovery"]), ">= 50 %"),
        ("recovered counting the fallback", pct(s["recovery_with_fallback"]), ">= 94 %"),
        ("  of which the fallback shipped", pct(s["fallback_share"]), ""),
        ("  flagged, not recovered (non-critical)", pct(s["flagged_share"]), ""),
        (
            "shipped reply (re-scored) passes every originally failing dimension",
            pct(s["shipped_recovers_failing_dims"]),
            "",
        ),
        ("mean gain on the failing dimensions", f"{s['mean_gain_failing_dims']:+.2f}", ""),
        ("shipped replies passing Safety", pct(s["shipped_safety_pass"]), "100 %"),
        (
            "rewrite latency p50 / p95",
            f"{s['latency_p50_s']:.2f} s / {s['latency_p95_s']:.2f} s",
            "p50 <= 3 s",
        ),
        ("new tokens per rewrite, mean / max", f"{s['tokens_mean']:.0f} / {s['tokens_max']}", "<= 120"),
        ("share of the revision's text the model wrote", pct(s["model_text_share_mean"]), ""),
    ]
    if ablation:
        a = ablation["summary"]
        rows.append(("no-model ablation: recovered by the scaffold alone", pct(a["model_recovery"]), ""))
    out = [
        (
            f"Measured {result['created'][:10]} on {m['cpu']}, {m['cores']} cores (shared), Python {m['python']}; "
            f"judge `{result['setup']['judge']}`, rewriter `{result['setup']['rewriter']}` int4 CPU."
        ),
        "",
        "| measure | value | target |",
        "|---|---:|---|",
        *(f"| {k.strip()} | {v} | {t} |" for k, v, t in rows),
    ]
    items = {it["id"]: it for it in result["items"]}
    examples = []
    lines = (REPO / result["setup"]["data"]).read_text(encoding="utf-8").splitlines()
    data = {json.loads(line)["id"]: json.loads(line) for line in lines if line.strip()}
    for n, rid in enumerate(EXAMPLE_IDS, 1):
        it, src = items.get(rid), data.get(rid)
        if not it or not it.get("revision"):
            continue
        failing = it["judge_failing"]
        scores = ", ".join(f"{d} {it['scores_before'][d]:.1f} → {it['scores_after'][d]:.1f}" for d in failing)
        person = src["context"][-1]["text"]
        examples += [
            f"**{n}. {it['form']}** ({it['action'].lower()}; {scores})",
            "",
            f"> **Person:** {person}",
            ">",
            f"> **Original:** {it['reply']}",
            "",
            "```text",
            it["shipped"],
            "```",
            "",
        ]
    return "\n".join(out), "\n".join(examples).rstrip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "bench" / "data" / "rewrite_eval.jsonl")
    parser.add_argument("--judge", type=Path, default=REPO / "models" / "judge")
    parser.add_argument("--rewriter", type=Path, default=REPO / "models" / "rewriter")
    parser.add_argument("--policy", type=Path, default=REPO / "config" / "policy.yaml")
    parser.add_argument("--deadline-s", type=float, default=5.0, help="the caller's budget for one rewrite")
    parser.add_argument("--max-new-tokens", type=int, default=120)
    parser.add_argument(
        "--out", type=Path, default=None, help="default: bench/results/rewrite[_no_model].json"
    )
    parser.add_argument(
        "--ablation", choices=("none", "no-model"), default="none",
        help="no-model: same scaffold, fixed reflection, no generation (what the model adds)",
    )  # fmt: skip
    parser.add_argument(
        "--markdown", action="store_true", help="print the README figures from the results files"
    )
    args = parser.parse_args(argv)
    if args.markdown:
        results = REPO / "bench" / "results"
        ablation = results / "rewrite_no_model.json"
        table, examples = markdown(
            json.loads((results / "rewrite.json").read_text()),
            json.loads(ablation.read_text()) if ablation.is_file() else None,
        )
        print(table + "\n\n" + examples)
        return 0
    if args.out is None:
        name = "rewrite.json" if args.ablation == "none" else "rewrite_no_model.json"
        args.out = REPO / "bench" / "results" / name
    result = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print_table(result)
    print(f"wrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
