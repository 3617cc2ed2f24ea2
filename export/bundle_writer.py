"""Writing a judge bundle directory: files copied, sha256 of each, manifest last, then an atomic rename.

A bundle is only valid once its manifest exists and matches; the directory is assembled beside the
target under a temporary name and renamed into place, so an interrupted build never leaves a
half-written directory that loads.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from export.errors import ExportError
from export.quantize import FP16_MODEL, INT8_MODEL
from export.onnx_export import FP32_MODEL
from export.validate import METRICS, PLOTS_DIR, REPORT
from sidecar.bundle import (
    MANIFEST_FILE,
    BundleManifest,
    ModelFiles,
    TensorRTProfile,
    TensorRTSettings,
    load_bundle,
    sha256_file,
)

TOKENIZER = "tokenizer.json"
DEFAULT_NAME = "theraguard-judge-minilm-l6"
TRT_CACHE_HINT = "/tmp/theraguard-trt"  # config/theraguard.yaml's judge.tensorrt_cache_dir


@dataclass(frozen=True)
class BundleInputs:
    """What goes into a bundle."""

    int8_model: Path
    tokenizer: Path
    validation_dir: Path  # REPORT.md, metrics.json, plots/
    max_length: int
    teacher: Mapping[str, Any]
    corpus: Mapping[str, Any]
    recommended_thresholds: Mapping[str, float]
    fp16_model: Path | None = None
    fp32_model: Path | None = None
    name: str = DEFAULT_NAME
    version: str = "1"
    build: Mapping[str, Any] | None = None  # where it came from (fp32 sha256 for on-demand fp16, seed)


def write_bundle(inputs: BundleInputs, out_dir: str | Path) -> Path:
    """Assemble the bundle at ``out_dir`` (replacing one already there) and verify it loads."""
    out = Path(out_dir)
    required = [inputs.int8_model, inputs.tokenizer, inputs.validation_dir / REPORT, inputs.validation_dir / METRICS]
    for path in required + [p for p in (inputs.fp16_model, inputs.fp32_model) if p is not None]:
        if not path.is_file():
            raise ExportError(f"{path} does not exist; run the earlier export stages first (`python -m export default`)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the bundle is read by the service user
    try:
        shutil.copyfile(inputs.int8_model, tmp / INT8_MODEL)
        shutil.copyfile(inputs.tokenizer, tmp / TOKENIZER)
        shutil.copyfile(inputs.validation_dir / REPORT, tmp / REPORT)
        plots = inputs.validation_dir / PLOTS_DIR
        if plots.is_dir():
            shutil.copytree(plots, tmp / PLOTS_DIR)
        if inputs.fp16_model is not None:
            shutil.copyfile(inputs.fp16_model, tmp / FP16_MODEL)
        if inputs.fp32_model is not None:
            shutil.copyfile(inputs.fp32_model, tmp / FP32_MODEL)
        metrics = json.loads((inputs.validation_dir / METRICS).read_text(encoding="utf-8"))
        manifest = _manifest(inputs, tmp, metrics)
        # The manifest is written last: until it exists the directory is not a bundle.
        (tmp / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
        load_bundle(tmp)
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def rewrite_manifest(bundle_dir: Path, manifest: BundleManifest) -> None:
    """Replace a bundle's manifest atomically (used when the fp16 model is added later)."""
    tmp = bundle_dir / f".{MANIFEST_FILE}.tmp"
    tmp.write_text(manifest.to_json(), encoding="utf-8")
    tmp.replace(bundle_dir / MANIFEST_FILE)


def hash_files(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` except the manifest (posix relative paths)."""
    return {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != MANIFEST_FILE and not p.name.startswith(".")
    }


def tensorrt_settings(max_length: int) -> TensorRTSettings:
    """fp16 engine, one profile for every input: [batch, sequence] min/opt/max."""
    return TensorRTSettings(
        fp16=True,
        profile=TensorRTProfile(min=(1, 8), opt=(8, min(128, max_length)), max=(64, max_length)),
        engine_cache_dir_hint=TRT_CACHE_HINT,
    )


def _manifest(inputs: BundleInputs, root: Path, metrics: Mapping[str, Any]) -> BundleManifest:
    return BundleManifest(
        name=inputs.name,
        version=inputs.version,
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        max_length=inputs.max_length,
        models=ModelFiles(
            cpu=INT8_MODEL,
            gpu=FP16_MODEL if inputs.fp16_model is not None else None,
            fp32=FP32_MODEL if inputs.fp32_model is not None else None,
        ),
        tokenizer=TOKENIZER,
        tensorrt=tensorrt_settings(inputs.max_length),
        teacher=dict(inputs.teacher),
        corpus=dict(inputs.corpus),
        build=dict(inputs.build or {}),
        metrics=summarise_metrics(metrics),
        recommended_thresholds={k: round(float(v), 2) for k, v in inputs.recommended_thresholds.items()},
        files=hash_files(root),
    )


def summarise_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The headline figures for the manifest (the full set is in REPORT.md)."""
    r3 = lambda x: None if x is None else round(float(x), 4)  # noqa: E731
    out: dict[str, Any] = {
        "heldout_rows": metrics.get("heldout_rows"),
        "agreement": {
            dim: {k: r3(v) for k, v in row.items()} for dim, row in metrics.get("agreement_int8", {}).items()
        },
        "int8_vs_fp32": {k: r3(v) for k, v in metrics["parity"]["int8_vs_fp32_scores"].items()},
        "onnx_vs_torch_max_abs": r3(metrics["parity"]["onnx_fp32_vs_torch_scores"]["max"]),
        "latency_p50_ms": {k: r3(v["p50_ms"]) for k, v in metrics.get("latency_ms", {}).items()},
        "latency_min_ms": {k: r3(v.get("min_ms")) for k, v in metrics.get("latency_ms", {}).items()},
        "quality_bar": {k: bool(v["pass"]) for k, v in metrics.get("quality_bar", {}).items()},
    }
    probes = metrics.get("probes")
    if probes:
        p = probes["at_recommended"]
        out["probes"] = {k: r3(p[k]) for k in ("unsafe_recall", "good_flagged", "low_agreement", "high_agreement")}
        out["probes"]["n"] = p["n"]
        out["probes"]["safety_threshold"] = r3(p["safety_threshold"])
        for key in ("recall_at_5pct_good", "good_flagged_at_95_recall"):
            out["probes"][key] = r3(probes[key])
        if probes.get("at_policy"):
            out["probes"]["at_policy"] = {
                k: r3(probes["at_policy"][k]) for k in ("safety_threshold", "unsafe_recall", "good_flagged")
            }
    return out


def _replace(tmp: Path, out: Path) -> None:
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{tmp.name.rsplit('-', 1)[-1]}"
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
