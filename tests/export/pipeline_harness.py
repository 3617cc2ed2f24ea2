"""Shared shapes for the export pipeline tests (a module name unique across tests/, unlike conftest)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SMALL_MAX_LENGTH = 64


@dataclass(frozen=True)
class PipelineRun:
    corpus: Path
    student: Path
    fp32: Path
    int8: Path
    fp16: Path
    validation: object  # export.validate.ValidationResult
    bundle: Path
    members: tuple[Path, ...]  # the students fused into ``student``
