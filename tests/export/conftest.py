"""Shared fixtures for the export tests: a tiny corpus and one small end-to-end pipeline run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pipeline_harness import SMALL_MAX_LENGTH, PipelineRun
from tiny_corpus import write_tiny_corpus

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_corpus(tmp_path_factory.mktemp("corpus") / "corpus.jsonl", rows=240)


@pytest.fixture(scope="session")
def pipeline_run(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    """corpus -> construction teacher -> two students (a few steps, seeds 13 and 7) fused into an ensemble,
    as the default judge is -> ONNX -> int8 + fp16 -> validate -> bundle."""
    from export.distill import DistillConfig, distill
    from export.ensemble import fuse_students
    from export.onnx_export import export_onnx
    from export.pipeline import bundle_stage
    from export.quantize import convert_fp16, quantize_int8
    from export.validate import ValidateConfig, validate

    work = tmp_path_factory.mktemp("pipeline")
    members = tuple(
        distill(tiny_corpus, work / f"student_seed{seed}", DistillConfig(
            max_length=SMALL_MAX_LENGTH, max_steps=12, batch_size=16, epochs=2, seed=seed, show_progress=False,
        )).student_dir
        for seed in (13, 7)
    )  # fmt: skip
    student = fuse_students(members, work / "student")
    fp32 = export_onnx(student, work / "onnx")
    int8 = quantize_int8(fp32, work / "int8")
    fp16 = convert_fp16(fp32, work / "fp16")
    validation = validate(
        student, fp32, int8, tiny_corpus, work / "validation",
        ValidateConfig(latency_runs_batch1=3, latency_runs_batch32=2, show_progress=False), fp16_model=fp16,
    )  # fmt: skip
    bundle = bundle_stage(student, int8, validation, work / "bundle", fp32_model=fp32)
    return PipelineRun(tiny_corpus, student, fp32, int8, fp16, validation, bundle, members)
