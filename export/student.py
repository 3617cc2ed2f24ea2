"""The student: a MiniLM cross-encoder over (context, reply) with one 5-way head per dimension.

The graph computes both outputs the bundle promises: ``probs`` [batch, 7, 5] (softmax per dimension)
and ``scores`` [batch, 7], the expected level on the 1-5 scale, so the runtime does no arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import BertConfig, BertModel, BertPreTrainedModel
from transformers.utils import ModelOutput

from sidecar.domain import DIMENSIONS

NUM_LEVELS = 5


@dataclass
class JudgeOutput(ModelOutput):
    """Forward result; only ``scores`` and ``probs`` go into the ONNX graph."""

    scores: torch.Tensor | None = None  # [batch, 7]
    probs: torch.Tensor | None = None  # [batch, 7, 5]
    logits: torch.Tensor | None = None  # [batch, 7, 5], for the loss


POOLINGS = ("mean", "mean_max")


class JudgeStudent(BertPreTrainedModel):
    """BERT-style encoder, pooling over real tokens, a small MLP, 7 x 5 logits.

    Pooling "mean_max" concatenates the mean and the max over tokens: a single harmful sentence in a
    long, otherwise warm reply moves the max even when the mean barely changes.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        config.judge_dimensions = list(getattr(config, "judge_dimensions", DIMENSIONS))
        self.pooling = getattr(config, "judge_pooling", "mean")
        if self.pooling not in POOLINGS:
            raise ValueError(f"judge_pooling must be one of {', '.join(POOLINGS)} (got: {self.pooling!r})")
        self.bert = BertModel(config, add_pooling_layer=False)
        hidden = config.hidden_size
        pooled = hidden * (2 if self.pooling == "mean_max" else 1)
        self.head = nn.Sequential(
            nn.Dropout(config.hidden_dropout_prob),
            nn.Linear(pooled, hidden),
            nn.GELU(),
            nn.Dropout(config.hidden_dropout_prob),
            nn.Linear(hidden, len(DIMENSIONS) * NUM_LEVELS),
        )
        self.register_buffer("levels", torch.arange(1, NUM_LEVELS + 1, dtype=torch.float32), persistent=False)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> JudgeOutput:
        hidden = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        if self.pooling == "mean_max":
            # Padding pushed far below any real activation so it never wins the max.
            peak = (hidden - (1.0 - mask) * 1e4).max(dim=1).values
            pooled = torch.cat([pooled, peak], dim=-1)
        logits = self.head(pooled).view(-1, len(DIMENSIONS), NUM_LEVELS)
        probs = torch.softmax(logits, dim=-1)
        scores = (probs * self.levels).sum(-1)
        return JudgeOutput(scores=scores, probs=probs, logits=logits)


def student_from_backbone(backbone_dir: str | Path, dropout: float = 0.1, pooling: str = "mean") -> JudgeStudent:
    """A fresh student: encoder weights from ``backbone_dir`` (MiniLM), head initialised at random (seeded)."""
    config = BertConfig.from_pretrained(backbone_dir)
    config.hidden_dropout_prob = dropout
    config.judge_dimensions = list(DIMENSIONS)
    config.judge_pooling = pooling
    config.architectures = ["JudgeStudent"]
    model = JudgeStudent(config)
    backbone = BertModel.from_pretrained(backbone_dir, add_pooling_layer=False)
    missing, unexpected = model.bert.load_state_dict(backbone.state_dict(), strict=False)
    if missing:
        raise RuntimeError(f"backbone {backbone_dir} lacks weights for {missing[:3]}: not a BERT-style encoder")
    return model
