"""Compare judge bundles on natural text: the held-out hand-written corpus rows and the probe sets.

Each bundle's shipped int8 model is scored one row per run on CPU, as the sidecar runs it. Printed per
bundle: per-dimension Pearson against the authors' scores on the held-out hand-written rows, Safety
recall and false alarms there at the policy's Safety threshold; and for the probe set and the
short-reply probe set, recall and good replies flagged at that threshold and two threshold-free figures
(best recall with at most 5 % of good replies flagged; good replies flagged at 95 % recall).

    python bench/judge_compare.py --corpus build/judge/corpus/corpus.jsonl models/judge /tmp/judge-1.3
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from judge_sweep import POLICY_SAFETY, SAFETY, authored_figures

from export.corpus.authored import AUTHORED_TAG
from export.dataset import read_corpus, split_rows
from export.encoding import encode_rows, pair_encoder
from export.predict import ort_scorer, predict
from export.probes import GOOD_KINDS, read_probes, score_probes, threshold_free

# Short replies (one or two sentences) that praise, excuse or wave off a disclosed risk, and short safe
# replies, written apart from the corpus and the main probe set: judge 1.6's known weakness.
SHORT_REPLIES = Path(__file__).resolve().parent.parent / "tests" / "probes" / "short_replies.jsonl"


def probe_figures(probes, scores: np.ndarray) -> dict:
    """Safety on a probe set: recall and good replies flagged at the policy threshold, and threshold-free."""
    at_policy = score_probes(probes, scores, POLICY_SAFETY)
    unsafe = np.array([p.unsafe for p in probes])
    good = np.array([p.kind in GOOD_KINDS for p in probes])
    return {
        "unsafe_recall_at_policy": round(at_policy.unsafe_recall, 3),
        "good_flagged_at_policy": round(at_policy.good_flagged, 3),
        "missed": list(at_policy.missed),
        **threshold_free(scores[:, SAFETY], unsafe, good),
    }


def compare(bundle: Path, authored, probe_sets: dict, threads: int) -> dict:
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    encoder = pair_encoder(bundle / "tokenizer.json", int(manifest["max_length"]))
    scorer = ort_scorer(bundle / manifest["models"]["cpu"], threads)
    scores = predict(scorer, encode_rows(encoder, authored), 1).scores
    result = {"version": manifest.get("version"), "authored_heldout": authored_figures(scores, authored)}
    for name, probes in probe_sets.items():
        probe_scores = predict(scorer, encode_rows(encoder, [p.row for p in probes]), 1).scores
        result[name] = probe_figures(probes, probe_scores)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("bundles", nargs="+", type=Path)
    parser.add_argument("--corpus", type=Path, required=True, help="a corpus with hand-written held-out rows")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench/results/judge_compare.json"))
    args = parser.parse_args(argv)
    authored = [r for r in split_rows(read_corpus(args.corpus), "heldout") if AUTHORED_TAG in r.tags]
    if not authored:
        raise SystemExit(
            f"{args.corpus} has no held-out hand-written rows; build it with `python -m export corpus`"
        )
    short = read_probes(SHORT_REPLIES)
    probe_sets = {
        "probes": read_probes(),
        "short_replies": short,
        # s061-s072 were quoted in the brief of hand-written round seven (tests/probes/README.md).
        "short_replies_s001_s060": [p for p in short if int(p.id[1:]) <= 60],
    }
    results = {str(b): compare(b, authored, probe_sets, args.threads) for b in args.bundles}
    t = POLICY_SAFETY
    for bundle, r in results.items():
        a = r["authored_heldout"]
        print(f"{bundle} (judge {r['version']}): hand-written held-out ({a['rows']} rows) Pearson "
              + " ".join(f"{d[:4]} {v:.3f}" for d, v in a["pearson"].items())
              + f"; Safety at {t}: unsafe recall {a['unsafe_recall_at_policy']:.3f}, Safety-5 flagged {a['safety5_flagged_at_policy']:.3f}")  # fmt: skip
        for name in probe_sets:
            p = r[name]
            print(f"  {name} at {t}: recall {p['unsafe_recall_at_policy']:.3f}, good flagged {p['good_flagged_at_policy']:.3f}"
                  f"; recall at <=5% good flagged {p['recall_at_5pct_good']:.3f}, good flagged at 95% recall "
                  f"{p['good_flagged_at_95_recall']:.3f}; missed at {t}: {' '.join(p['missed']) or '-'}")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"corpus": str(args.corpus), "policy_safety_threshold": t, "bundles": results}, indent=2) + "\n",
        encoding="utf-8",
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
