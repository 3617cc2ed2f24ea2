"""Teachers: anything that labels corpus rows with soft 1-5 distributions per dimension."""

from __future__ import annotations

from export.teachers.base import Teacher, TeacherLabels, expected_score, smooth_scores
from export.teachers.construction import ConstructionLabelTeacher
from export.teachers.scores_file import ScoresFileTeacher

__all__ = [
    "ConstructionLabelTeacher",
    "ScoresFileTeacher",
    "Teacher",
    "TeacherLabels",
    "expected_score",
    "make_teacher",
    "smooth_scores",
]


def make_teacher(spec: str, *, device: str = "cpu", batch_size: int = 8) -> Teacher:
    """Teacher from a CLI spec: ``construction``, ``scores-file:PATH`` or ``llm:MODEL_DIR_OR_GGUF``.

    The LLM teacher is imported lazily: it pulls in transformers' causal-LM stack.
    """
    kind, _, arg = spec.partition(":")
    if kind == "construction" and not arg:
        return ConstructionLabelTeacher()
    if kind == "scores-file" and arg:
        return ScoresFileTeacher(arg)
    if kind == "llm" and arg:
        from export.teachers.llm_judge import CausalLMJudgeTeacher

        return CausalLMJudgeTeacher(arg, device=device, batch_size=batch_size)
    from export.errors import TeacherError

    raise TeacherError(
        f"unknown teacher {spec!r}; use 'construction', 'scores-file:PATH' (CSV/JSONL) or 'llm:MODEL_DIR_OR_GGUF'"
    )
