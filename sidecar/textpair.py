"""Turns (context, reply) into cross-encoder inputs; the one encoding both training and serving use.

Truncation rule (recorded in the bundle manifest as ``reply_whole_context_oldest_first``): the reply is
kept whole; the context is cut from the oldest turn, so the newest turns survive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

from sidecar.domain import Turn

TRUNCATION_RULE = "reply_whole_context_oldest_first"
# Room for [CLS] context [SEP] reply [SEP].
_SPECIAL_TOKENS = 3


def load_tokenizer(path: str) -> Tokenizer:
    """Load a fast tokenizer, with the padding/truncation baked into some packaged files reset."""
    tokenizer = Tokenizer.from_file(path)
    # The packaged MiniLM tokenizer.json pads and truncates to 128 tokens: we truncate ourselves.
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def render_turn(turn: Turn) -> str:
    """How one context turn reads to the model."""
    return f"{turn.role.value}: {turn.text}"


@dataclass(frozen=True)
class EncodedBatch:
    """Padded model inputs for a batch of (context, reply) pairs."""

    input_ids: np.ndarray  # int64 [batch, seq]
    attention_mask: np.ndarray  # int64 [batch, seq]
    token_type_ids: np.ndarray  # int64 [batch, seq]
    reply_truncated: tuple[bool, ...]  # True where even the reply alone did not fit


class PairEncoder:
    """Encodes (context, reply) pairs for a BERT-style cross-encoder."""

    def __init__(self, tokenizer: Tokenizer, max_length: int) -> None:
        if max_length < 16:
            raise ValueError(f"max_length must be >= 16 (got: {max_length})")
        self._tokenizer = tokenizer
        self.max_length = max_length
        self._cls = _token_id(tokenizer, "[CLS]")
        self._sep = _token_id(tokenizer, "[SEP]")
        self._pad = _token_id(tokenizer, "[PAD]")

    def encode(self, pairs: Sequence[tuple[Sequence[Turn], str]]) -> EncodedBatch:
        """Encode pairs, tokenizing every turn and reply of the batch in one call."""
        texts: list[str] = []
        for context, reply in pairs:
            texts.extend(render_turn(t) for t in context)
            texts.append(reply)
        pieces = [e.ids for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)]

        rows: list[tuple[list[int], list[int]]] = []
        truncated: list[bool] = []
        at = 0
        for context, _ in pairs:
            turn_ids = pieces[at : at + len(context)]
            reply_ids = pieces[at + len(context)]
            at += len(context) + 1
            budget = self.max_length - _SPECIAL_TOKENS
            truncated.append(len(reply_ids) > budget)
            reply_ids = reply_ids[:budget]  # only when the reply alone overflows
            context_ids = _newest_tokens(turn_ids, budget - len(reply_ids))
            rows.append((context_ids, reply_ids))

        seq = max(len(c) + len(r) + _SPECIAL_TOKENS for c, r in rows)
        batch = len(rows)
        input_ids = np.full((batch, seq), self._pad, dtype=np.int64)
        attention = np.zeros((batch, seq), dtype=np.int64)
        token_types = np.zeros((batch, seq), dtype=np.int64)
        for i, (c, r) in enumerate(rows):
            ids = [self._cls, *c, self._sep, *r, self._sep]
            input_ids[i, : len(ids)] = ids
            attention[i, : len(ids)] = 1
            token_types[i, len(c) + 2 : len(ids)] = 1
        return EncodedBatch(input_ids, attention, token_types, tuple(truncated))


def _newest_tokens(turns: Sequence[list[int]], budget: int) -> list[int]:
    """Keep the newest context tokens that fit: whole newest turns, then the tail of an older one."""
    kept: list[list[int]] = []
    for ids in reversed(turns):
        if budget <= 0:
            break
        kept.append(ids[-budget:] if len(ids) > budget else ids)
        budget -= len(kept[-1])
    return [tok for ids in reversed(kept) for tok in ids]


def _token_id(tokenizer: Tokenizer, token: str) -> int:
    token_id = tokenizer.token_to_id(token)
    if token_id is None:
        raise ValueError(f"tokenizer has no {token} token: a BERT-style WordPiece vocabulary is needed")
    return token_id
