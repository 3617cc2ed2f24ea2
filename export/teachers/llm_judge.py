"""A local Hugging Face causal LM as judge: soft labels from the probabilities of the tokens "1".."5".

How a user distils TheraJudge or any instruct model: run this teacher on a GPU box (``--device cuda``),
or run it elsewhere and bring its output back as a scores file with ``probs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from export.dataset import CorpusRow
from export.errors import TeacherError
from export.rubric import SYSTEM_PROMPT, judge_prompt
from export.teachers.base import TeacherLabels, expected_score
from sidecar.domain import DIMENSIONS

_WEIGHT_GLOBS = ("*.safetensors", "pytorch_model*.bin", "*.gguf")
_DIGITS = ("1", "2", "3", "4", "5")


def resolve_model(model: str | Path) -> tuple[Path, str | None]:
    """(directory, gguf file name or None) for a model directory or a .gguf file.

    Raises:
        TeacherError: the path does not exist, or the directory holds no weights.
    """
    path = Path(model)
    if path.is_file() and path.suffix == ".gguf":
        return path.parent, path.name
    if not path.is_dir():
        raise TeacherError(
            f"teacher model {path} does not exist; pass a Hugging Face model directory or a .gguf file"
        )
    weights = [p for pattern in _WEIGHT_GLOBS for p in sorted(path.glob(pattern))]
    if not weights:
        raise TeacherError(
            f"teacher model directory {path} has no weights (no *.safetensors, pytorch_model*.bin or *.gguf); "
            "download the full model into it, or pass the .gguf file itself"
        )
    ggufs = [p for p in weights if p.suffix == ".gguf"]
    if ggufs and len(weights) == len(ggufs):
        return path, ggufs[0].name
    if not (path / "config.json").is_file():
        raise TeacherError(f"teacher model directory {path} has weights but no config.json; copy the whole model")
    return path, None


class CausalLMJudgeTeacher:
    """Prompts a causal LM once per (row, dimension) with the rubric and reads P("1".."5") as soft labels.

    The five digit probabilities at the answer position are renormalised among themselves; their raw
    total (how sure the model was to answer with a digit at all) is kept in ``details`` as a sanity
    figure. Prompts use the tokenizer's chat template when it has one.
    """

    def __init__(
        self,
        model: str | Path,
        *,
        batch_size: int = 8,
        device: str = "cpu",
        max_prompt_tokens: int = 1024,
        show_progress: bool = True,
    ) -> None:
        if batch_size < 1:
            raise TeacherError(f"teacher batch size must be >= 1 (got: {batch_size})")
        self.model_dir, self.gguf_file = resolve_model(model)
        self.batch_size = batch_size
        self.device = device
        self.max_prompt_tokens = max_prompt_tokens
        self.show_progress = show_progress
        label = self.gguf_file or self.model_dir.name
        self.name = f"causal-lm-judge({label})"
        self._load()

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        kwargs = {"gguf_file": self.gguf_file} if self.gguf_file else {}
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir, **kwargs)
            dtype = torch.float32 if self.device == "cpu" else torch.bfloat16
            self.model = AutoModelForCausalLM.from_pretrained(self.model_dir, dtype=dtype, **kwargs)
        except (OSError, ValueError) as err:
            raise TeacherError(f"teacher model {self.model_dir} could not be loaded ({err}); check the directory") from None
        self.model.to(self.device).eval()
        self.tokenizer.padding_side = "left"  # the answer position is then the last one in every row
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.digit_ids = []
        for digit in _DIGITS:
            ids = self.tokenizer.encode(digit, add_special_tokens=False)
            if len(ids) != 1:
                raise TeacherError(
                    f"teacher model {self.model_dir}: its tokenizer splits {digit!r} into {len(ids)} tokens; "
                    "this teacher needs single-token digits 1-5"
                )
            self.digit_ids.append(ids[0])

    def prompt(self, dimension: str, row: CorpusRow) -> str:
        """The full model input for one (row, dimension)."""
        user = judge_prompt(dimension, row.context, row.reply)
        if self.tokenizer.chat_template:
            messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return f"{SYSTEM_PROMPT}\n\n{user}\nAnswer: "

    def label(self, rows: Sequence[CorpusRow]) -> TeacherLabels:
        import torch
        from tqdm.auto import tqdm

        if not rows:
            raise TeacherError("no rows to label: the corpus is empty; build one with `python -m export corpus`")
        jobs = [(i, d, self.prompt(dim, row)) for i, row in enumerate(rows) for d, dim in enumerate(DIMENSIONS)]
        # Similar lengths together: less padding per batch.
        jobs.sort(key=lambda job: len(job[2]))
        probs = np.zeros((len(rows), len(DIMENSIONS), 5), dtype=np.float32)
        digit_mass = np.zeros((len(rows), len(DIMENSIONS)), dtype=np.float32)
        digit_ids = torch.tensor(self.digit_ids)
        with torch.inference_mode():
            for start in tqdm(
                range(0, len(jobs), self.batch_size), desc="teacher", unit="batch", disable=not self.show_progress
            ):
                batch = jobs[start : start + self.batch_size]
                enc = self.tokenizer(
                    [p for _, _, p in batch],
                    return_tensors="pt",
                    padding=True,
                    truncation=True,
                    max_length=self.max_prompt_tokens,
                    add_special_tokens=False,  # the chat template already has them
                ).to(self.device)
                logits = self.model(**enc, logits_to_keep=1).logits[:, -1, :].float().cpu()
                full = torch.softmax(logits, dim=-1)[:, digit_ids]
                digits = torch.softmax(logits[:, digit_ids], dim=-1)
                for (i, d, _), p, mass in zip(batch, digits.numpy(), full.sum(-1).numpy()):
                    probs[i, d] = p
                    digit_mass[i, d] = mass
        return TeacherLabels(
            ids=tuple(r.id for r in rows),
            probs=probs,
            expected=expected_score(probs),
            teacher=self.name,
            details={
                "kind": "causal-lm",
                "model": str(self.model_dir / (self.gguf_file or "")),
                "mean_digit_mass": float(digit_mass.mean()),
                "prompt": "export.rubric.judge_prompt (TheraGuard's own rubric wording)",
            },
        )
