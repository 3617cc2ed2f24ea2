"""The default judge, end to end from one call: corpus -> distill -> ONNX -> int8 (+fp16) -> validate -> bundle."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from export.bundle_writer import BundleInputs, rewrite_manifest, write_bundle
from export.distill import STUDENT_CONFIG, TOKENIZER_FILE, DistillConfig, distill
from export.ensemble import fuse_students
from export.errors import ExportError
from export.onnx_export import export_onnx
from export.quantize import FP16_MODEL, convert_fp16, quantize_int8
from export.validate import ValidateConfig, ValidationResult, validate
from sidecar.bundle import BundleManifest, load_bundle, sha256_file

log = logging.getLogger(__name__)

DEFAULT_BUNDLE = Path("models/judge")
DEFAULT_WORK = Path("build/judge")
DEFAULT_FP32 = DEFAULT_WORK / "onnx" / "judge.fp32.onnx"
DEFAULT_VERSION = "1.7"  # the committed default bundle's version; bump with the recipe


@dataclass(frozen=True)
class DefaultBuild:
    """Settings of the default bundle; every field has the value the committed bundle was built with."""

    out: Path = DEFAULT_BUNDLE
    work: Path = DEFAULT_WORK
    corpus: Path | None = None  # an existing corpus.jsonl; None builds one
    corpus_size: int = 60000  # generated rows; the hand-written ones come on top
    seed: int = 13  # the corpus builder's seed
    # One student per seed, distilled alike; two or more are fused into one ensemble (export.ensemble).
    member_seeds: tuple[int, ...] = (13, 7)
    shared_dir: Path | None = None  # the MentalAlign data dir; None: the builder finds ../shared itself
    use_shared: bool = True  # False: built-in situations only
    use_authored: bool = True  # False: without the hand-written rows (export/corpus/authored)
    distill: DistillConfig = field(default_factory=DistillConfig)
    validate: ValidateConfig = field(default_factory=ValidateConfig)
    with_fp16: bool = False  # put the fp16 GPU model in the bundle (it is always built and checked)
    version: str = DEFAULT_VERSION

    def __post_init__(self) -> None:
        if self.corpus_size < 20:
            raise ExportError(f"corpus_size must be >= 20 (got: {self.corpus_size})")
        if not self.member_seeds or len(set(self.member_seeds)) != len(self.member_seeds):
            raise ExportError(f"member_seeds must be one or more different seeds (got: {self.member_seeds})")


def build_corpus_stage(
    out_dir: Path, size: int, seed: int, shared_dir: Path | None = None, use_shared: bool = True,
    use_authored: bool = True,
) -> Path:
    """Run the corpus builder (export.corpus); returns the corpus.jsonl path.

    ``shared_dir`` None lets the builder find ../shared/data/mentalalign itself; ``use_shared`` False
    builds from the built-in situations only; ``use_authored`` False leaves out the hand-written rows.
    """
    try:
        from export.corpus.build import build_corpus
    except ImportError as err:
        raise ExportError(f"the corpus builder export.corpus.build is not available ({err}); pass --corpus PATH") from None
    kwargs: dict[str, Any] = {} if use_shared and shared_dir is None else {"shared_dir": shared_dir if use_shared else None}
    if not use_authored:
        kwargs["authored_dir"] = None
    try:
        info = build_corpus(Path(out_dir), size=size, seed=seed, **kwargs)
    except ValueError as err:
        raise ExportError(f"corpus builder: {err}") from None
    return Path(info.path)


def corpus_summary(corpus_path: Path) -> dict[str, Any]:
    """Provenance summary for the manifest: the corpus file's hash and the builder's provenance record."""
    summary: dict[str, Any] = {"file": corpus_path.name, "sha256": sha256_file(corpus_path)}
    provenance = corpus_path.parent / "provenance.json"
    if provenance.is_file():
        data = json.loads(provenance.read_text(encoding="utf-8"))
        # Keep the manifest small: scalar and short fields only; the full record stays with the corpus.
        for key, value in data.items():
            if len(json.dumps(value)) <= 1500:
                summary[key] = value
    return summary


def _corpus_record(recorded: dict[str, Any], corpus: Path | None) -> dict[str, Any]:
    """The manifest's corpus entry: the full summary when the file at hand is the one the student was
    trained on (same sha256), else what the student recorded. A different file named on purpose is an
    error; a different file at the recorded path (a stale copy) is not described."""
    path = Path(corpus) if corpus is not None else Path(recorded["path"])
    if path.is_file() and sha256_file(path) == recorded.get("sha256"):
        return corpus_summary(path)
    if corpus is not None:
        raise ExportError(
            f"{path} is not the corpus the student was trained on (sha256 {recorded.get('sha256', '?')[:16]}...); "
            "pass the corpus.jsonl named in the student's distill_config.json"
        )
    return dict(recorded)


def tool_versions() -> dict[str, str]:
    out = {}
    for dist in ("torch", "transformers", "optimum", "optimum-onnx", "onnx", "onnxruntime", "tokenizers"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def bundle_stage(
    student_dir: Path,
    int8_model: Path,
    validation: ValidationResult | Path,
    out: Path,
    *,
    fp32_model: Path | None = None,
    fp16_model: Path | None = None,
    keep_fp32: bool = False,
    version: str = DEFAULT_VERSION,
    corpus: Path | None = None,
) -> Path:
    """Write the bundle from the stage outputs; returns the bundle directory.

    ``corpus``: where the student's corpus is now, when it was distilled elsewhere (default: the path it
    recorded). Either way the file must have the sha256 the student recorded to be described in full.
    """
    info = json.loads((student_dir / STUDENT_CONFIG).read_text(encoding="utf-8"))
    val_dir = validation.out_dir if isinstance(validation, ValidationResult) else Path(validation)
    metrics_file = val_dir / "metrics.json"
    if not metrics_file.is_file():
        raise ExportError(f"{metrics_file} does not exist; run `python -m export validate` first")
    metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    thresholds = {t["dimension"]: t["threshold"] for t in metrics["thresholds"]}
    corpus_record = _corpus_record(info["corpus"], corpus)
    build: dict[str, Any] = {
        "pipeline": "python -m export default",
        "distill": {k: v for k, v in info["config"].items() if k not in ("show_progress",)},
        "train_rows": info["train_rows"],
        "steps": info["steps"],
        "train_seconds": info["seconds"],
        "token_stats": info["token_stats"],
        "tools": tool_versions(),
    }
    if info.get("members"):  # an ensemble: the seeds and weights of the students it averages
        build["ensemble"] = {
            "shared_layers": info["shared_layers"],
            "members": [{k: m[k] for k in ("seed", "steps", "seconds", "weights_sha256")} for m in info["members"]],
        }
    if fp32_model is not None and Path(fp32_model).is_file():
        build["fp32_sha256"] = sha256_file(Path(fp32_model))  # lets `export fp16 --bundle` check its source
    return write_bundle(
        BundleInputs(
            int8_model=int8_model,
            tokenizer=student_dir / TOKENIZER_FILE,
            validation_dir=val_dir,
            max_length=int(info["config"]["max_length"]),
            teacher=info["teacher"],
            corpus=corpus_record,
            recommended_thresholds=thresholds,
            fp16_model=fp16_model,
            fp32_model=fp32_model if keep_fp32 else None,
            version=version,
            build=build,
        ),
        out,
    )


def add_fp16_to_bundle(bundle_dir: Path, fp32_model: Path = DEFAULT_FP32) -> Path:
    """Build the fp16 GPU model for an existing bundle from the fp32 model it was made from."""
    bundle = load_bundle(bundle_dir)
    fp32_model = Path(fp32_model)
    if not fp32_model.is_file():
        raise ExportError(
            f"{fp32_model} does not exist: the fp16 model is made from the fp32 export the bundle came from; "
            "run `make judge` (rebuilds it under build/judge) or pass --fp32 PATH"
        )
    expected = bundle.manifest.build.get("fp32_sha256")
    actual = sha256_file(fp32_model)
    if expected and expected != actual:
        raise ExportError(
            f"{fp32_model} is not the model {bundle_dir} was built from (sha256 {actual}, the manifest records "
            f"{expected}); rebuild both with `make judge`"
        )
    staging = bundle_dir / ".fp16-staging"
    path = convert_fp16(fp32_model, staging)
    path.replace(bundle_dir / FP16_MODEL)
    for leftover in staging.iterdir():
        leftover.unlink()
    staging.rmdir()
    data = bundle.manifest.to_dict()
    data["models"]["gpu"] = FP16_MODEL
    data["files"][FP16_MODEL] = sha256_file(bundle_dir / FP16_MODEL)
    rewrite_manifest(bundle_dir, BundleManifest.from_dict(data))
    load_bundle(bundle_dir)
    return bundle_dir / FP16_MODEL


def distill_members(corpus: Path, work: Path, config: DistillConfig, seeds: tuple[int, ...]) -> Path:
    """Distill one student per seed; with more than one, fuse them. Returns ``work/student``."""
    if len(seeds) == 1:
        return distill(corpus, work / "student", replace(config, seed=seeds[0])).student_dir
    members = []
    for seed in seeds:
        log.info("distilling ensemble member with seed %d", seed)
        members.append(distill(corpus, work / f"student_seed{seed}", replace(config, seed=seed)).student_dir)
    return fuse_students(members, work / "student")


def build_default(cfg: DefaultBuild = DefaultBuild()) -> Path:
    """Every stage in order under ``cfg.work``; the bundle goes to ``cfg.out``. Returns the bundle directory."""
    work = cfg.work
    work.mkdir(parents=True, exist_ok=True)
    (work / "default_config.json").write_text(json.dumps(asdict(cfg), indent=2, default=str) + "\n", encoding="utf-8")
    corpus = cfg.corpus or build_corpus_stage(
        work / "corpus", cfg.corpus_size, cfg.seed, cfg.shared_dir, cfg.use_shared, cfg.use_authored
    )
    log.info("corpus: %s", corpus)
    student = distill_members(corpus, work, cfg.distill, cfg.member_seeds)
    fp32 = export_onnx(student, work / "onnx")
    int8 = quantize_int8(fp32, work / "int8")
    fp16 = convert_fp16(fp32, work / "fp16")
    validation = validate(student, fp32, int8, corpus, work / "validation", cfg.validate, fp16_model=fp16)
    return bundle_stage(
        student, int8, validation, cfg.out, fp32_model=fp32, fp16_model=fp16 if cfg.with_fp16 else None,
        version=cfg.version,
    )  # fmt: skip
