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
from transformers.models.bert.modeling_bert import BertLayer
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


def _head(config: BertConfig) -> nn.Sequential:
    """Pooled encoder output -> small MLP -> 7 x 5 logits."""
    hidden = config.hidden_size
    pooled = hidden * (2 if getattr(config, "judge_pooling", "mean") == "mean_max" else 1)
    return nn.Sequential(
        nn.Dropout(config.hidden_dropout_prob),
        nn.Linear(pooled, hidden),
        nn.GELU(),
        nn.Dropout(config.hidden_dropout_prob),
        nn.Linear(hidden, len(DIMENSIONS) * NUM_LEVELS),
    )


class JudgeBranch(nn.Module):
    """One more ensemble member's upper encoder layers and head, on top of the shared lower layers."""

    def __init__(self, config: BertConfig, layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([BertLayer(config) for _ in range(layers)])
        self.head = _head(config)


class JudgeStudent(BertPreTrainedModel):
    """BERT-style encoder, pooling over real tokens, a small MLP, 7 x 5 logits.

    Pooling "mean_max" concatenates the mean and the max over tokens: a single harmful sentence in a
    long, otherwise warm reply moves the max even when the mean barely changes.

    An ensemble (``judge_members`` > 1, built by ``export.ensemble``) is several students distilled with
    different seeds whose embeddings and lowest ``judge_shared_layers`` layers were frozen and are
    therefore identical: they run once, each member's upper layers and head run on their output, and the
    members' distributions are averaged. Member 0 lives in ``bert``/``head``, the others in ``branches``.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        config.judge_dimensions = list(getattr(config, "judge_dimensions", DIMENSIONS))
        self.pooling = getattr(config, "judge_pooling", "mean")
        if self.pooling not in POOLINGS:
            raise ValueError(f"judge_pooling must be one of {', '.join(POOLINGS)} (got: {self.pooling!r})")
        self.bert = BertModel(config, add_pooling_layer=False)
        self.head = _head(config)
        members = int(getattr(config, "judge_members", 1))
        self.shared_layers = int(getattr(config, "judge_shared_layers", 0))
        if members < 1 or (members > 1 and not 0 <= self.shared_layers < config.num_hidden_layers):
            raise ValueError(f"judge_members {members} with judge_shared_layers {self.shared_layers}: not an ensemble")
        upper = config.num_hidden_layers - self.shared_layers
        self.branches = nn.ModuleList([JudgeBranch(config, upper) for _ in range(members - 1)])
        self.register_buffer("levels", torch.arange(1, NUM_LEVELS + 1, dtype=torch.float32), persistent=False)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> JudgeOutput:
        encoded = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
            output_hidden_states=bool(self.branches),
        )  # fmt: skip
        logits = self._logits(encoded.last_hidden_state, attention_mask, self.head)
        if not self.branches:
            probs = torch.softmax(logits, dim=-1)
        else:
            member_logits = [logits]
            shared = encoded.hidden_states[self.shared_layers]  # [0] is the embeddings
            extended_mask = self.bert.get_extended_attention_mask(attention_mask, input_ids.shape)
            for branch in self.branches:
                hidden = shared
                for layer in branch.layers:
                    hidden = layer(hidden, attention_mask=extended_mask)[0]
                member_logits.append(self._logits(hidden, attention_mask, branch.head))
            probs = torch.stack([torch.softmax(m, dim=-1) for m in member_logits]).mean(0)
            # Log of the mixture (a softmax of it gives the averaged distribution); clamped so that a
            # probability that underflowed to 0 cannot put -inf into a training loss.
            logits = torch.log(probs.clamp_min(1e-12))
        scores = (probs * self.levels).sum(-1)
        return JudgeOutput(scores=scores, probs=probs, logits=logits)

    def _logits(self, hidden: torch.Tensor, attention_mask: torch.Tensor, head: nn.Module) -> torch.Tensor:
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        if self.pooling == "mean_max":
            # Padding pushed far below any real activation so it never wins the max.
            peak = (hidden - (1.0 - mask) * 1e4).max(dim=1).values
            pooled = torch.cat([pooled, peak], dim=-1)
        return head(pooled).view(-1, len(DIMENSIONS), NUM_LEVELS)


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
