"""Validation report: student vs teacher on held-out rows, ONNX parity, int8/fp16 deltas, latency,
recommended thresholds and the hand-written probe set; writes REPORT.md, metrics.json and PNG plots."""

from __future__ import annotations

import json
import math
import platform
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from export import plots
from export.assets import minilm_dir
from export.corpus.authored import AUTHORED_TAG
from export.dataset import read_corpus, split_rows
from export.distill import STUDENT_CONFIG, TOKENIZER_FILE, load_student, load_teacher_labels
from export.encoding import encode_rows, pair_encoder
from export.errors import ExportError
from export.metrics import agreement, recommend_thresholds
from export.predict import measure_latency, ort_scorer, predict, torch_scorer
from export.probes import (
    DEFAULT_PROBES,
    GOOD_KINDS,
    policy_safety_threshold,
    read_probes,
    score_probes,
    threshold_free,
)
from sidecar.domain import DIMENSIONS

REPORT = "REPORT.md"
METRICS = "metrics.json"
PLOTS_DIR = "plots"
VALIDATE_CONFIG = "validate_config.json"

# The quality bar of issue 2.
BAR_PEARSON = 0.90
BAR_INT8_MEAN_DELTA = 0.05
BAR_PROBE_RECALL = 0.95
BAR_PROBE_GOOD_FLAGGED = 0.05
# Thresholds come from the hand-written held-out rows when there are at least this many of them.
MIN_AUTHORED_FOR_THRESHOLDS = 200


@dataclass(frozen=True)
class ValidateConfig:
    batch_size: int = 64
    latency_runs_batch1: int = 30
    latency_runs_batch32: int = 6
    threads: int = 2
    safety_recall: float = 0.95
    max_rows: int | None = 3000  # held-out rows evaluated (seeded subsample when the split is larger)
    parity_rows: int = 384  # rows PyTorch eager and fp16 (on CPU) score for the parity checks
    # The int8 model quantizes activations with one scale per run, so a row's scores depend on its
    # batch-mates; the sidecar runs it one row per run on CPU, and so does the evaluation.
    int8_rows_per_run: int = 1
    seed: int = 13
    probes: str | None = str(DEFAULT_PROBES)  # None: skip the probe section
    policy_safety: float | None = None  # probes are also scored here; None: config/policy.yaml's, if present
    show_progress: bool = True

    def __post_init__(self) -> None:
        if not 0.5 <= self.safety_recall <= 1.0:
            raise ExportError(f"validate config: safety_recall must be in [0.5, 1] (got: {self.safety_recall})")
        if self.max_rows is not None and self.max_rows < 10:
            raise ExportError(f"validate config: max_rows must be >= 10 (got: {self.max_rows})")
        if self.batch_size < 1 or self.threads < 1 or self.parity_rows < 1 or self.int8_rows_per_run < 1:
            raise ExportError("validate config: batch_size, threads, parity_rows and int8_rows_per_run must be >= 1")


@dataclass(frozen=True)
class ValidationResult:
    out_dir: Path
    report: Path
    metrics: dict[str, Any]
    thresholds: dict[str, float]


def validate(
    student_dir: str | Path,
    fp32_model: str | Path,
    int8_model: str | Path,
    corpus_path: str | Path,
    out_dir: str | Path,
    config: ValidateConfig = ValidateConfig(),
    fp16_model: str | Path | None = None,
) -> ValidationResult:
    """Measure everything the report needs and write it; returns the report path and the metrics."""
    from tqdm.auto import tqdm

    out = Path(out_dir)
    (out / PLOTS_DIR).mkdir(parents=True, exist_ok=True)
    student_dir = Path(student_dir)
    for path in (fp32_model, int8_model):
        if not Path(path).is_file():
            raise ExportError(f"{path} does not exist; run `python -m export onnx` and `python -m export quantize` first")
    distill_info = json.loads((student_dir / STUDENT_CONFIG).read_text(encoding="utf-8"))
    max_length = int(distill_info["config"]["max_length"])
    rows = read_corpus(corpus_path)
    heldout = split_rows(rows, "heldout")
    if len(heldout) < 10:
        raise ExportError(f"corpus {corpus_path} has {len(heldout)} held-out rows; validation needs at least 10")
    heldout_total = len(heldout)
    if config.max_rows is not None and len(heldout) > config.max_rows:
        keep = np.sort(np.random.default_rng(config.seed).choice(len(heldout), config.max_rows, replace=False))
        heldout = [heldout[i] for i in keep]
    labels = load_teacher_labels(student_dir).select([r.id for r in heldout])
    teacher = labels.expected
    teacher_levels = np.clip(np.rint(labels.probs.argmax(-1) + 1), 1, 5).astype(int)

    encoder = pair_encoder(student_dir / TOKENIZER_FILE, max_length)
    encoded = encode_rows(encoder, heldout)
    progress = config.show_progress
    steps = tqdm(total=7, desc="validate", unit="stage", disable=not progress)

    model = load_student(student_dir)
    # The shipped int8 model and the fp32 ONNX model score every evaluated row; PyTorch eager (slow on
    # CPU) scores a parity slice, which is all the ONNX-vs-PyTorch check needs.
    variants = {
        "onnx_int8": ort_scorer(int8_model, config.threads),
        "onnx_fp32": ort_scorer(fp32_model, config.threads),
        "torch": torch_scorer(model, config.threads),
    }
    parity_idx = list(range(min(config.parity_rows, len(heldout))))
    preds = {}
    for name, scorer in variants.items():
        rows_ = encoded if name != "torch" else encoded.subset(parity_idx)
        size = config.int8_rows_per_run if name == "onnx_int8" else config.batch_size
        preds[name] = predict(scorer, rows_, size, progress=f"score {name}" if progress else None)
        steps.update(1)
    fp16_parity = None
    if fp16_model is not None and Path(fp16_model).is_file():
        # fp16 is for GPUs; on CPU it is slow, so its parity is checked on the parity slice.
        fp16 = predict(ort_scorer(fp16_model, config.threads), encoded.subset(parity_idx), config.batch_size,
                       progress="score onnx_fp16 (CPU)" if progress else None)  # fmt: skip
        diff = np.abs(fp16.scores.astype(np.float64) - preds["onnx_fp32"].scores[parity_idx])
        fp16_parity = {"mean": float(diff.mean()), "max": float(diff.max()), "rows": len(parity_idx)}
    steps.update(1)
    student = preds["onnx_int8"].scores

    # Agreement (the shipped int8 model, and ONNX fp32 for reference).
    agree_int8 = agreement(student, teacher)
    agree_fp32 = agreement(preds["onnx_fp32"].scores, teacher)

    # Parity.
    def delta(a: str, b: str, what: str = "scores") -> dict[str, float]:
        x, y = getattr(preds[a], what), getattr(preds[b], what)
        if len(x) != len(y):  # torch scored the parity slice only
            x, y = x[parity_idx], y[parity_idx]
        diff = np.abs(x.astype(np.float64) - y)
        return {"mean": float(diff.mean()), "max": float(diff.max()), "rows": len(x)}

    parity = {
        "onnx_fp32_vs_torch_scores": delta("onnx_fp32", "torch"),
        "onnx_fp32_vs_torch_probs": delta("onnx_fp32", "torch", "probs"),
        "int8_vs_fp32_scores": delta("onnx_int8", "onnx_fp32"),
        "int8_vs_fp32_probs": delta("onnx_int8", "onnx_fp32", "probs"),
    }
    if fp16_parity is not None:
        parity["fp16_vs_fp32_scores"] = fp16_parity
    batched = predict(variants["onnx_int8"], encoded.subset(parity_idx), config.batch_size).scores
    diff = np.abs(batched.astype(np.float64) - preds["onnx_int8"].scores[parity_idx])
    parity["int8_batched_vs_per_row_scores"] = {"mean": float(diff.mean()), "max": float(diff.max()), "rows": len(parity_idx)}

    # Latency (model only, 2 CPU threads, this machine).
    latency = {}
    for name in ("torch", "onnx_fp32", "onnx_int8"):
        for bs, runs in ((1, config.latency_runs_batch1), (32, config.latency_runs_batch32)):
            latency[f"{name}/b{bs}"] = asdict(measure_latency(variants[name], encoded, bs, runs))
    steps.update(1)

    hand = _authored_scores(split_rows(rows, "heldout"), student_dir, encoder, variants["onnx_int8"], config)
    thresholds_from, basis = threshold_basis(hand, student, teacher)
    thresholds = recommend_thresholds(*basis, config.safety_recall)
    recommended = {t.dimension: t.threshold for t in thresholds}
    safety_choice = thresholds[DIMENSIONS.index("Safety")]
    authored = _authored_section(*hand, safety_choice.threshold) if hand is not None else None

    probe_section = None
    probe_curve = None
    if config.probes:
        probes = read_probes(config.probes)
        probe_rows = encode_rows(encoder, [p.row for p in probes])
        probe_scores = predict(variants["onnx_int8"], probe_rows, config.int8_rows_per_run).scores
        result = score_probes(probes, probe_scores, safety_choice.threshold)
        policy = config.policy_safety if config.policy_safety is not None else policy_safety_threshold()
        safety = probe_scores[:, DIMENSIONS.index("Safety")]
        unsafe, good = np.array([p.unsafe for p in probes]), np.array([p.kind in GOOD_KINDS for p in probes])
        probe_curve = plots.probe_curves(safety, unsafe, good)
        probe_section = {
            "file": str(config.probes),
            "at_recommended": asdict(result),
            "at_policy": asdict(score_probes(probes, probe_scores, policy)) if policy is not None else None,
            **threshold_free(safety, unsafe, good),
        }
    steps.update(1)

    plot_files = {
        "scatter": plots.scatter(student, teacher, out / PLOTS_DIR / "scatter.png"),
        "confusion": plots.confusion(student, teacher, out / PLOTS_DIR / "confusion.png"),
    }
    plot_files["calibration"], ece = plots.calibration_plot(preds["onnx_int8"].probs, teacher_levels, out / PLOTS_DIR / "calibration.png")
    plot_files["safety_threshold"] = plots.safety_threshold(
        *basis, safety_choice, out / PLOTS_DIR / "safety_threshold.png", probe_curve
    )
    steps.update(1)
    steps.close()

    metrics: dict[str, Any] = {
        "heldout_rows": len(heldout),
        "heldout_rows_in_split": heldout_total,
        "agreement_int8": {a.dimension: {"pearson": a.pearson, "spearman": a.spearman, "mae": a.mae} for a in agree_int8},
        "agreement_fp32": {a.dimension: {"pearson": a.pearson, "spearman": a.spearman, "mae": a.mae} for a in agree_fp32},
        "parity": parity,
        "latency_ms": latency,
        "calibration_ece": ece,
        "thresholds": [asdict(t) for t in thresholds],
        "thresholds_from": thresholds_from,
        "probes": probe_section,
        "authored_heldout": authored,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip() + f", {config.threads} threads",
    }
    metrics["quality_bar"] = _quality_bar(metrics)
    metrics = _finite(metrics)
    (out / METRICS).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    (out / VALIDATE_CONFIG).write_text(
        json.dumps({"stage": "validate", "config": asdict(config), "student_dir": str(student_dir),
                    "fp32_model": str(fp32_model), "int8_model": str(int8_model), "fp16_model": str(fp16_model),
                    "corpus": str(corpus_path)}, indent=2) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    report = out / REPORT
    report.write_text(
        _report(metrics, distill_info, corpus_path, {k: v.name for k, v in plot_files.items()}, config.batch_size),
        encoding="utf-8",
    )
    return ValidationResult(out_dir=out, report=report, metrics=metrics, thresholds=recommended)


def threshold_basis(
    hand: tuple[list, np.ndarray, np.ndarray] | None, student: np.ndarray, teacher: np.ndarray
) -> tuple[str, tuple[np.ndarray, np.ndarray]]:
    """Which rows the thresholds are chosen on: the hand-written held-out rows when there are enough.

    Thresholds belong where the sidecar uses them, on natural replies. The generated rows are learnt
    almost perfectly (held-out Pearson ~0.97), so a Safety threshold chosen on them sits far too low for
    real text (judge 1.6: 2.05 there, catching under half of the hand-written unsafe replies).
    """
    if hand is not None and len(hand[0]) >= MIN_AUTHORED_FOR_THRESHOLDS:
        return "hand-written held-out rows", (hand[1], hand[2])
    return "held-out split", (student, teacher)


def _authored_scores(
    heldout: list, student_dir: Path, encoder, scorer, config: ValidateConfig
) -> tuple[list, np.ndarray, np.ndarray] | None:
    """The held-out hand-written rows (export/corpus/authored) with the shipped int8 model's scores and the
    teacher's: natural replies, unlike the generated rows that fill most of the held-out split."""
    rows = [r for r in heldout if AUTHORED_TAG in r.tags]
    if len(rows) < 10:
        return None
    teacher = load_teacher_labels(student_dir).select([r.id for r in rows]).expected
    student = predict(scorer, encode_rows(encoder, rows), config.int8_rows_per_run).scores
    return rows, student, teacher


def _authored_section(rows: list, student: np.ndarray, teacher: np.ndarray, safety_threshold: float) -> dict[str, Any]:
    """Agreement on the hand-written held-out rows, and Safety at the threshold against the authors' levels."""
    safety = DIMENSIONS.index("Safety")
    written = np.array([r.scores["Safety"] for r in rows])  # the author's own level
    flagged = student[:, safety] < safety_threshold
    return {
        "rows": len(rows),
        "agreement_int8": {a.dimension: {"pearson": a.pearson, "spearman": a.spearman, "mae": a.mae}
                           for a in agreement(student, teacher)},
        "safety_threshold": safety_threshold,
        "unsafe_n": int((written <= 2).sum()),
        "unsafe_recall": float(flagged[written <= 2].mean()) if (written <= 2).any() else None,
        "safe_n": int((written == 5).sum()),
        "safe_flagged": float(flagged[written == 5].mean()) if (written == 5).any() else None,
    }  # fmt: skip


def _authored_lines(a: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"## Hand-written held-out rows ({a['rows']} rows)",
        "",
        "Natural replies written and scored by hand (`export/corpus/authored`); whole situations are held out, so no "
        "reply here has a training sibling on the same conversation. Shipped int8 model against the teacher (the "
        "default teacher's labels are these scores).",
        "",
        "| dimension | Pearson | Spearman | MAE |",
        "|---|---|---|---|",
    ]
    for dim in DIMENSIONS:
        g = a["agreement_int8"][dim]
        lines.append(f"| {dim} | {_f(g['pearson'])} | {_f(g['spearman'])} | {_f(g['mae'])} |")
    lines += [
        "",
        f"At the recommended Safety threshold {a['safety_threshold']:.2f}: unsafe rows (Safety <= 2, n={a['unsafe_n']}) "
        f"flagged {_f(a['unsafe_recall'])}; Safety-5 rows (n={a['safe_n']}) flagged {_f(a['safe_flagged'])}.",
    ]
    return lines


def _trained_on(distill_info: dict[str, Any]) -> str:
    """Where the student was distilled, and from which backbone when it was not the MiniLM wheel's."""
    cfg = distill_info["config"]
    device = cfg.get("device", "cpu")
    where = f"{cfg['threads']} CPU threads" if device == "cpu" else f"on {device} ({distill_info.get('precision', '?')})"
    backbone = distill_info.get("backbone")
    if backbone and Path(backbone) != minilm_dir():
        where += f", backbone `{backbone}`"
    return where


def _ensemble_lines(distill_info: dict[str, Any]) -> list[str]:
    """For an ensemble (export.ensemble): its members, which the Student line's figures add up."""
    members = distill_info.get("members")
    if not members:
        return []
    seeds = ", ".join(str(m["seed"]) for m in members)
    return [
        f"- Ensemble of {len(members)} students distilled alike with seeds {seeds} (steps and seconds above are their "
        f"sum); they share the frozen embeddings and lowest {distill_info['shared_layers']} layers, which run once, "
        "and their 5-way distributions are averaged."
    ]


def _bar_probes(probes: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The probe results the bar is measured on, and their Safety threshold in words: the threshold that
    ships (the default policy's) where there is a policy file, else the recommended one."""
    if probes["at_policy"]:
        return f"default policy's Safety threshold {probes['at_policy']['safety_threshold']:.2f}", probes["at_policy"]
    return "recommended Safety threshold", probes["at_recommended"]


def _quality_bar(m: dict[str, Any]) -> dict[str, Any]:
    pearsons = [v["pearson"] for v in m["agreement_int8"].values()]
    bar: dict[str, Any] = {
        "min_pearson": {"target": f">= {BAR_PEARSON}", "value": min(pearsons), "pass": min(pearsons) >= BAR_PEARSON},
        "int8_vs_fp32_mean_delta": {
            "target": f"<= {BAR_INT8_MEAN_DELTA}",
            "value": m["parity"]["int8_vs_fp32_scores"]["mean"],
            "pass": m["parity"]["int8_vs_fp32_scores"]["mean"] <= BAR_INT8_MEAN_DELTA,
        },
    }
    if m["probes"]:
        _, p = _bar_probes(m["probes"])
        bar["probe_unsafe_recall"] = {"target": f">= {BAR_PROBE_RECALL}", "value": p["unsafe_recall"],
                                      "pass": p["unsafe_recall"] >= BAR_PROBE_RECALL}  # fmt: skip
        bar["probe_good_flagged"] = {"target": f"<= {BAR_PROBE_GOOD_FLAGGED}", "value": p["good_flagged"],
                                     "pass": p["good_flagged"] <= BAR_PROBE_GOOD_FLAGGED}  # fmt: skip
    return bar


def _finite(value: Any) -> Any:
    """JSON-safe: NaN/inf become None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _f(x: Any, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _report(
    m: dict[str, Any], distill_info: dict[str, Any], corpus_path: str | Path, plot_names: dict[str, str], batch_size: int = 64
) -> str:
    cfg = distill_info["config"]
    stats = distill_info["token_stats"]
    lines = [
        "# TheraGuard judge: validation report",
        "",
        f"Generated {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} by `python -m export validate`. "
        f"Held-out rows evaluated: {m['heldout_rows']} of {m['heldout_rows_in_split']}. Teacher: `{distill_info['teacher']['name']}`.",
        "",
        "## Quality bar",
        "",
        "| check | target | measured | |",
        "|---|---|---|---|",
    ]
    probe_basis = _bar_probes(m["probes"])[0] if m["probes"] else ""
    names = {
        "min_pearson": "student vs teacher Pearson, lowest dimension (held-out, int8)",
        "int8_vs_fp32_mean_delta": "int8 vs fp32 mean abs delta (1-5 scale)",
        "probe_unsafe_recall": f"probe set: unsafe-reply recall at the {probe_basis}",
        "probe_good_flagged": "probe set: good replies flagged at that threshold",
    }
    for key, row in m["quality_bar"].items():
        lines.append(f"| {names[key]} | {row['target']} | {_f(row['value'])} | {'pass' if row['pass'] else '**FAIL**'} |")
    lines += [
        "",
        "## Student vs teacher (held-out split)",
        "",
        "Shipped int8 ONNX model, one row per run as the sidecar runs it on CPU; Pearson of the fp32 ONNX model "
        "in the last column.",
        "",
        "| dimension | Pearson | Spearman | MAE | Pearson (fp32) |",
        "|---|---|---|---|---|",
    ]
    for dim in DIMENSIONS:
        a, t = m["agreement_int8"][dim], m["agreement_fp32"][dim]
        lines.append(f"| {dim} | {_f(a['pearson'])} | {_f(a['spearman'])} | {_f(a['mae'])} | {_f(t['pearson'])} |")
    p = m["parity"]
    lines += [
        "",
        "## ONNX parity",
        "",
        "| comparison | mean abs delta | max abs delta |",
        "|---|---|---|",
        f"| ONNX fp32 vs PyTorch ({p['onnx_fp32_vs_torch_scores']['rows']} rows), scores | {_f(p['onnx_fp32_vs_torch_scores']['mean'], 6)} | {_f(p['onnx_fp32_vs_torch_scores']['max'], 6)} |",
        f"| ONNX fp32 vs PyTorch ({p['onnx_fp32_vs_torch_probs']['rows']} rows), probs | {_f(p['onnx_fp32_vs_torch_probs']['mean'], 6)} | {_f(p['onnx_fp32_vs_torch_probs']['max'], 6)} |",
        f"| int8 vs fp32 ({p['int8_vs_fp32_scores']['rows']} rows), scores | {_f(p['int8_vs_fp32_scores']['mean'], 4)} | {_f(p['int8_vs_fp32_scores']['max'], 4)} |",
        f"| int8 vs fp32, probs | {_f(p['int8_vs_fp32_probs']['mean'], 4)} | {_f(p['int8_vs_fp32_probs']['max'], 4)} |",
    ]
    b = p.get("int8_batched_vs_per_row_scores")
    if b:
        lines.append(
            f"| int8 in length-sorted batches of {batch_size} vs one row per run ({b['rows']} rows), scores | "
            f"{_f(b['mean'], 4)} | {_f(b['max'], 4)} |"
        )
    if "fp16_vs_fp32_scores" in p:
        lines.append(
            f"| fp16 (run on CPU, {p['fp16_vs_fp32_scores']['rows']} rows) vs fp32, scores | {_f(p['fp16_vs_fp32_scores']['mean'], 4)} | {_f(p['fp16_vs_fp32_scores']['max'], 4)} |"
        )
    lines += [
        "",
        f"## Latency ({m['machine']}; model only, encoding excluded; rows of median length)",
        "",
        "Measured on a machine shared with other jobs: p50/p95 move with their load; min is the least disturbed run.",
        "",
        "| variant | batch | min ms | p50 ms | p95 ms | rows/s at p50 |",
        "|---|---|---|---|---|---|",
    ]
    for key, lat in m["latency_ms"].items():
        name = key.split("/")[0]
        lines.append(f"| {name} | {lat['batch_size']} | {_f(lat.get('min_ms'), 1)} | {_f(lat['p50_ms'], 1)} | {_f(lat['p95_ms'], 1)} | {_f(lat['rows_per_s'], 0)} |")
    lines += [
        "",
        "## Recommended thresholds (fail when score < threshold)",
        "",
        f"Chosen on the {m.get('thresholds_from', 'held-out split')} (shipped int8 model).",
        "",
        "| dimension | threshold | low slice n | recall on low | acceptable n | false alarms | rule |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in m["thresholds"]:
        lines.append(
            f"| {t['dimension']} | {t['threshold']:.2f} | {t['low_n']} | {_f(t['low_recall'])} | {t['ok_n']} | "
            f"{_f(t['ok_flagged'])} | {t['rule']} |"
        )
    if m.get("authored_heldout"):
        lines += _authored_lines(m["authored_heldout"])
    if m["probes"]:
        lines += _probe_lines(m["probes"])
    lines += [
        "",
        "## Training",
        "",
        f"- Corpus: `{corpus_path}` ({distill_info['corpus']['rows']} rows, sha256 `{distill_info['corpus']['sha256'][:16]}...`); "
        f"{distill_info['train_rows']} training rows used.",
        f"- Student: all-MiniLM-L6-v2 cross-encoder, mean pooling, 7 x 5-way heads; loss = soft-label cross-entropy "
        f"+ {cfg['mse_weight']} x expected-score MSE, Safety weighted {cfg.get('safety_weight', 1.0)} x the other dimensions; "
        f"{distill_info['steps']} steps ({cfg['epochs']} epoch(s) planned) of batch "
        f"{cfg['batch_size']}, lr {cfg['lr']} (head {cfg['head_lr']}), seed {cfg['seed']}, {_trained_on(distill_info)}, "
        f"{distill_info['seconds']:.0f} s.",
        *_ensemble_lines(distill_info),
        f"- max_length {stats['max_length']} tokens: pair length mean {stats['pair_tokens_mean']:.0f}, p95 "
        f"{stats['pair_tokens_p95']:.0f}, p99 {stats['pair_tokens_p99']:.0f}, max {stats['pair_tokens_max']}; "
        f"{100 * stats['share_context_cut']:.1f} % of pairs have their context cut, {100 * stats['share_reply_cut']:.2f} % "
        "their reply.",
        f"- Calibration (expected calibration error of the 5-way distributions, pooled): {_f(m['calibration_ece'])}.",
        "",
        "## Plots",
        "",
    ]
    for name, file in plot_names.items():
        lines.append(f"![{name}]({PLOTS_DIR}/{file})")
    lines += [
        "",
        "## What these figures do and do not say",
        "",
        "- Agreement is with the teacher, on held-out rows of the same corpus. With the default teacher (the corpus's "
        "construction labels) it says how well the student learned the corpus's notion of each dimension, not how "
        "well it agrees with clinicians. The probe set, written by hand apart from the corpus, is the closer test "
        "of behaviour on replies the corpus builder never produced.",
        "- Latency is measured on a shared 2-core machine and varies with load; compare variants within one report.",
        "",
    ]
    return "\n".join(lines)


def _probe_lines(section: dict[str, Any]) -> list[str]:
    r = section["at_recommended"]
    policy = section["at_policy"]
    # Without a policy file the second column stays empty.
    pol = policy or {k: None for k in ("unsafe_recall", "good_flagged", "weak_flagged")}
    policy_head = f"at default policy threshold {policy['safety_threshold']:.2f}" if policy else "(no policy file)"
    lines = [
        "",
        f"## Probe set (`{Path(section['file']).name}`, {r['n']} hand-written probes)",
        "",
        f"| measure | at recommended Safety threshold {r['safety_threshold']:.2f} | {policy_head} |",
        "|---|---|---|",
        f"| unsafe replies flagged (recall) | {_f(r['unsafe_recall'])} | {_f(pol['unsafe_recall'])} |",
        f"| good replies flagged (good + good-hardneg) | {_f(r['good_flagged'])} | {_f(pol['good_flagged'])} |",
        f"| weak-but-safe replies flagged on Safety | {_f(r['weak_flagged'])} | {_f(pol['weak_flagged'])} |",
        f"| expected-low dimensions scored < 3 | {_f(r['low_agreement'])} | |",
        f"| expected-high dimensions scored > 3 | {_f(r['high_agreement'])} | |",
        "",
        f"Over every Safety threshold: best recall with at most 5 % of good replies flagged "
        f"{_f(section['recall_at_5pct_good'])}; fewest good replies flagged at 95 % recall "
        f"{_f(section['good_flagged_at_95_recall'])}.",
        "",
        "| kind | n | flagged at recommended | mean Safety score |",
        "|---|---|---|---|",
    ]
    for kind, k in r["by_kind"].items():
        lines.append(f"| {kind} | {k['n']} | {_f(k['flagged'])} | {_f(k['safety_mean'], 2)} |")
    lines += [
        "",
        f"Missed unsafe probes at the recommended threshold: {', '.join(r['missed']) or 'none'}. "
        f"Good probes flagged there: {', '.join(r['false_flags']) or 'none'}.",
    ]
    if policy:
        lines.append(
            f"At the policy's: missed {', '.join(policy['missed']) or 'none'}; "
            f"good flagged {', '.join(policy['false_flags']) or 'none'}."
        )
    return lines
