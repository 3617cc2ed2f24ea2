"""``python -m export <stage>``: each stage prints the path it wrote and leaves its config beside it."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from export.errors import ExportError


def _distill_args(p: argparse.ArgumentParser) -> None:
    from export.distill import DistillConfig

    d = DistillConfig()
    p.add_argument("--teacher", default=d.teacher, help="construction | scores-file:PATH | llm:MODEL_DIR_OR_GGUF")
    p.add_argument("--max-length", type=int, default=d.max_length, help="tokens per (context, reply) pair")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--max-train-rows", type=int, default=d.max_train_rows,
                   help=f"rows per epoch: every hand-written row --authored-repeat times, then a seeded sample of the "
                        f"generated ones (default {d.max_train_rows}, the CPU budget; 0 = all)")
    p.add_argument("--max-steps", type=int, default=d.max_steps)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--head-lr", type=float, default=d.head_lr)
    p.add_argument("--mse-weight", type=float, default=d.mse_weight)
    p.add_argument("--safety-weight", type=float, default=d.safety_weight, help="loss weight of Safety (others: 1)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=d.threads)
    p.add_argument("--device", default=d.device, help="cpu or cuda (teacher and student)")
    p.add_argument("--teacher-batch-size", type=int, default=d.teacher_batch_size)
    p.add_argument("--freeze-layers", type=int, default=d.freeze_layers)
    p.add_argument("--pooling", default=d.pooling, choices=["mean", "mean_max"])
    p.add_argument("--token-dropout", type=float, default=d.token_dropout, help="share of tokens masked while training")
    p.add_argument("--precision", default=d.precision, choices=["auto", "fp32", "bf16"])
    p.add_argument("--init-from", default=d.init_from,
                   help="start from this distilled student directory instead of MiniLM (fine-tune it on new rows)")
    p.add_argument("--authored-repeat", type=int, default=d.authored_repeat,
                   help=f"times each hand-written row is seen per epoch (default {d.authored_repeat}; 0 = not trained on)")


def _distill_config(args: argparse.Namespace):
    from export.distill import DistillConfig

    names = {f.name for f in fields(DistillConfig)}
    values = {k: v for k, v in vars(args).items() if k in names}
    if values.get("max_train_rows") == 0:
        values["max_train_rows"] = None
    return DistillConfig(**values)


def _default_version() -> str:
    from export.pipeline import DEFAULT_VERSION

    return DEFAULT_VERSION


def _default_corpus_size() -> int:
    from export.pipeline import DefaultBuild

    return DefaultBuild.corpus_size


def _default_member_seeds() -> tuple[int, ...]:
    from export.pipeline import DefaultBuild

    return DefaultBuild.member_seeds


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m export", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="stage", required=True)

    p = sub.add_parser("corpus", help="build the training corpus (JSONL + provenance)")
    p.add_argument("--out", type=Path, default=Path("build/judge/corpus"))
    p.add_argument("--size", type=int, default=_default_corpus_size(), help="generated rows")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--shared", type=Path, default=None, help="MentalAlign data dir (default: ../shared/data/mentalalign)")
    p.add_argument("--no-shared", action="store_true", help="built-in situations only")
    p.add_argument("--no-authored", action="store_true", help="leave out the hand-written rows (export/corpus/authored)")

    p = sub.add_parser("distill", help="label the corpus with a teacher and train the student")
    p.add_argument("--corpus", type=Path, required=True)
    p.add_argument("--out", type=Path, default=Path("build/judge/student"))
    _distill_args(p)

    p = sub.add_parser("fuse", help="fuse students distilled with different seeds into one ensemble student")
    p.add_argument("members", nargs="+", type=Path, help="student directories (python -m export distill --seed N)")
    p.add_argument("--out", type=Path, default=Path("build/judge/student"))

    p = sub.add_parser("onnx", help="export the student to ONNX (fp32) with optimum")
    p.add_argument("--student", type=Path, default=Path("build/judge/student"))
    p.add_argument("--out", type=Path, default=Path("build/judge/onnx"))
    p.add_argument("--opset", type=int, default=17)

    p = sub.add_parser("quantize", help="int8 dynamic quantization for CPU")
    p.add_argument("--onnx", type=Path, default=Path("build/judge/onnx/judge.fp32.onnx"))
    p.add_argument("--out", type=Path, default=Path("build/judge/int8"))
    p.add_argument("--no-per-channel", action="store_true")

    p = sub.add_parser("fp16", help="fp16 model for GPU; with --bundle, add it to a bundle")
    p.add_argument("--onnx", "--fp32", dest="fp32", type=Path, default=Path("build/judge/onnx/judge.fp32.onnx"))
    p.add_argument("--out", type=Path, default=Path("build/judge/fp16"))
    p.add_argument("--bundle", type=Path, default=None, help="add judge.fp16.onnx to this bundle and update its manifest")

    p = sub.add_parser("validate", help="validation report (REPORT.md, metrics.json, plots)")
    p.add_argument("--student", type=Path, default=Path("build/judge/student"))
    p.add_argument("--onnx", type=Path, default=Path("build/judge/onnx/judge.fp32.onnx"))
    p.add_argument("--int8", type=Path, default=Path("build/judge/int8/judge.int8.onnx"))
    p.add_argument("--fp16", type=Path, default=None)
    p.add_argument("--corpus", type=Path, required=True)
    p.add_argument("--out", type=Path, default=Path("build/judge/validation"))
    p.add_argument("--probes", type=Path, default=None, help="probe JSONL (default: tests/probes/judge_probes.jsonl)")
    p.add_argument("--no-probes", action="store_true")
    p.add_argument("--threads", type=int, default=2)

    p = sub.add_parser("bundle", help="assemble the judge bundle (manifest with sha256s), atomically")
    p.add_argument("--student", type=Path, default=Path("build/judge/student"))
    p.add_argument("--int8", type=Path, default=Path("build/judge/int8/judge.int8.onnx"))
    p.add_argument("--validation", type=Path, default=Path("build/judge/validation"))
    p.add_argument("--fp32", type=Path, default=Path("build/judge/onnx/judge.fp32.onnx"))
    p.add_argument("--fp16", type=Path, default=None, help="include this fp16 GPU model")
    p.add_argument("--keep-fp32", action="store_true", help="include the fp32 model (large; not for the repo)")
    p.add_argument("--out", type=Path, default=Path("models/judge"))
    p.add_argument("--version", default=_default_version())
    p.add_argument("--corpus", type=Path, default=None,
                   help="the student's corpus, when it is no longer at the path distillation recorded")

    p = sub.add_parser("default", help="build the default bundle end to end (seeded)")
    p.add_argument("--out", type=Path, default=Path("models/judge"))
    p.add_argument("--work", type=Path, default=Path("build/judge"))
    p.add_argument("--corpus", type=Path, default=None, help="use this corpus.jsonl instead of building one")
    p.add_argument("--size", type=int, default=_default_corpus_size(), help="generated corpus rows")
    p.add_argument("--shared", type=Path, default=None, help="MentalAlign data dir (default: ../shared/data/mentalalign)")
    p.add_argument("--no-shared", action="store_true", help="corpus from built-in situations only")
    p.add_argument("--no-authored", action="store_true", help="corpus without the hand-written rows")
    p.add_argument("--member-seeds", type=int, nargs="+", default=list(_default_member_seeds()),
                   help="distillation seeds: one student each, fused into an ensemble when more than one "
                        "(with `default`, --seed seeds the corpus)")
    p.add_argument("--with-fp16", action="store_true", help="also put the fp16 GPU model in the bundle")
    p.add_argument("--version", default=_default_version())
    _distill_args(p)
    return parser


def run(argv: Sequence[str] | None = None) -> Path:
    """Run one stage; returns the path it wrote."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.stage == "corpus":
        from export.pipeline import build_corpus_stage

        return build_corpus_stage(args.out, args.size, args.seed, args.shared, not args.no_shared, not args.no_authored)
    if args.stage == "distill":
        from export.distill import distill

        return distill(args.corpus, args.out, _distill_config(args)).student_dir
    if args.stage == "fuse":
        from export.ensemble import fuse_students

        return fuse_students(args.members, args.out)
    if args.stage == "onnx":
        from export.onnx_export import export_onnx

        return export_onnx(args.student, args.out, args.opset)
    if args.stage == "quantize":
        from export.quantize import quantize_int8

        return quantize_int8(args.onnx, args.out, per_channel=not args.no_per_channel)
    if args.stage == "fp16":
        from export.pipeline import add_fp16_to_bundle
        from export.quantize import convert_fp16

        if args.bundle is not None:
            return add_fp16_to_bundle(args.bundle, args.fp32)
        return convert_fp16(args.fp32, args.out)
    if args.stage == "validate":
        from export.validate import ValidateConfig, validate

        probes = None if args.no_probes else str(args.probes) if args.probes else ValidateConfig().probes
        config = ValidateConfig(probes=probes, threads=args.threads)
        return validate(args.student, args.onnx, args.int8, args.corpus, args.out, config, fp16_model=args.fp16).report
    if args.stage == "bundle":
        from export.pipeline import bundle_stage

        return bundle_stage(
            args.student, args.int8, args.validation, args.out, fp32_model=args.fp32, fp16_model=args.fp16,
            keep_fp32=args.keep_fp32, version=args.version, corpus=args.corpus,
        )  # fmt: skip
    from export.pipeline import DefaultBuild, build_default

    cfg = DefaultBuild(
        out=args.out, work=args.work, corpus=args.corpus, corpus_size=args.size, seed=args.seed,
        member_seeds=tuple(args.member_seeds),
        shared_dir=args.shared, use_shared=not args.no_shared, use_authored=not args.no_authored, distill=_distill_config(args), with_fp16=args.with_fp16, version=args.version,
    )  # fmt: skip
    return build_default(cfg)


def main(argv: Sequence[str] | None = None) -> int:
    from sidecar.bundle import BundleError

    try:
        path = run(argv)
    except (ExportError, BundleError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(path)
    return 0
