"""Rows -> model inputs through sidecar.textpair.PairEncoder (the one encoding), with length-aware batching.

Each row is encoded once; batches are re-padded from the per-row tokens. PairEncoder's output for a
row does not depend on the other rows of its batch except for padding, so this is the same encoding
the sidecar feeds the ONNX model.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from export.dataset import CorpusRow
from sidecar.textpair import EncodedBatch, PairEncoder, load_tokenizer, render_turn

_CHUNK = 256


@dataclass(frozen=True)
class EncodedRows:
    """Unpadded tokens per row."""

    input_ids: tuple[np.ndarray, ...]
    token_type_ids: tuple[np.ndarray, ...]
    reply_truncated: np.ndarray  # bool [n]
    context_tokens: np.ndarray  # int [n] untruncated context length (turns rendered), for stats
    reply_tokens: np.ndarray  # int [n] untruncated reply length

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(x) for x in self.input_ids], dtype=np.int64)

    def subset(self, index: Sequence[int]) -> EncodedRows:
        return EncodedRows(
            tuple(self.input_ids[i] for i in index),
            tuple(self.token_type_ids[i] for i in index),
            self.reply_truncated[list(index)],
            self.context_tokens[list(index)],
            self.reply_tokens[list(index)],
        )

    def batch(self, index: Sequence[int]) -> EncodedBatch:
        """Pad rows ``index`` into one batch, exactly as PairEncoder pads."""
        seq = max(len(self.input_ids[i]) for i in index)
        ids = np.zeros((len(index), seq), dtype=np.int64)  # [PAD] is id 0 in the WordPiece vocabulary
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, i in enumerate(index):
            n = len(self.input_ids[i])
            ids[row, :n] = self.input_ids[i]
            mask[row, :n] = 1
            types[row, :n] = self.token_type_ids[i]
        return EncodedBatch(ids, mask, types, tuple(bool(self.reply_truncated[i]) for i in index))


def pair_encoder(tokenizer_path: str | Path, max_length: int) -> PairEncoder:
    encoder = PairEncoder(load_tokenizer(str(tokenizer_path)), max_length)
    if encoder._pad != 0:  # noqa: SLF001 - EncodedRows.batch pads with 0
        raise ValueError(f"{tokenizer_path}: [PAD] must be id 0 for this student (got {encoder._pad})")  # noqa: SLF001
    return encoder


def encode_rows(encoder: PairEncoder, rows: Sequence[CorpusRow]) -> EncodedRows:
    """Encode every row once (in chunks, through PairEncoder)."""
    ids: list[np.ndarray] = []
    types: list[np.ndarray] = []
    truncated: list[bool] = []
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        enc = encoder.encode([r.pair for r in chunk])
        for i in range(len(chunk)):
            n = int(enc.attention_mask[i].sum())
            ids.append(enc.input_ids[i, :n].copy())
            types.append(enc.token_type_ids[i, :n].copy())
        truncated.extend(enc.reply_truncated)
    tok = encoder._tokenizer  # noqa: SLF001 - raw lengths for the token-length statistics only
    ctx_len = np.array(
        [sum(len(e.ids) for e in tok.encode_batch([render_turn(t) for t in r.context], add_special_tokens=False)) for r in rows],
        dtype=np.int64,
    )  # fmt: skip
    reply_len = np.array(
        [len(e.ids) for e in tok.encode_batch([r.reply for r in rows], add_special_tokens=False)], dtype=np.int64
    )
    return EncodedRows(tuple(ids), tuple(types), np.array(truncated, dtype=bool), ctx_len, reply_len)


def length_bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar-length rows: shuffle, sort within pools of 50 batches, shuffle batches."""
    order = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches: list[np.ndarray] = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)  # type: ignore[arg-type]
    return batches


def sorted_batches(lengths: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Deterministic length-sorted batches for inference (results are put back in row order by index)."""
    order = np.argsort(lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def token_stats(rows: EncodedRows, max_length: int) -> dict[str, float]:
    """Token-length statistics recorded beside the student (chooses and justifies max_length)."""
    total = rows.context_tokens + rows.reply_tokens + 3
    return {
        "max_length": max_length,
        "rows": int(len(total)),
        "pair_tokens_mean": float(total.mean()),
        "pair_tokens_p50": float(np.percentile(total, 50)),
        "pair_tokens_p95": float(np.percentile(total, 95)),
        "pair_tokens_p99": float(np.percentile(total, 99)),
        "pair_tokens_max": int(total.max()),
        "reply_tokens_p99": float(np.percentile(rows.reply_tokens, 99)),
        "reply_tokens_max": int(rows.reply_tokens.max()),
        "share_context_cut": float((total > max_length).mean()),
        "share_reply_cut": float(rows.reply_truncated.mean()),
    }
