"""Micro-batching with the real judge: batches form under concurrency, results reach the right caller,
a full queue is refused at once, and a caller that gives up costs no model time."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sidecar.batcher import MicroBatcher
from sidecar.config import BatchingConfig, JudgeConfig
from sidecar.domain import Role, Turn
from sidecar.errors import JudgeUnavailable, Overloaded
from sidecar.judge import Judge

PAIRS = [
    (
        (Turn(Role.USER, f"Day {i}: I feel worn out and alone."),),
        f"That sounds hard ({i}). What helps a little?",
    )
    for i in range(40)
]


@pytest.fixture(scope="module")
def judge(judge_bundle: Path) -> Judge:
    return Judge.load(JudgeConfig(bundle=judge_bundle, providers=("cpu",)))


class Recorder:
    def __init__(self) -> None:
        self.batches: list[int] = []
        self.results: list[bool] = []

    def batch(self, size: int, depth: int) -> None:
        self.batches.append(size)

    def result(self, ok: bool) -> None:
        self.results.append(ok)


async def _batcher(judge: Judge, **config: float) -> tuple[MicroBatcher, Recorder, ThreadPoolExecutor]:
    recorder = Recorder()
    executor = ThreadPoolExecutor(max_workers=1)
    batcher = MicroBatcher(
        judge, BatchingConfig(**config), executor, on_batch=recorder.batch, on_judge_result=recorder.result
    )
    batcher.start()
    return batcher, recorder, executor


async def test_concurrent_calls_share_batches_and_get_their_own_scores(judge: Judge) -> None:
    batcher, recorder, executor = await _batcher(judge, max_batch_size=16, max_wait_ms=2, max_queue=64)
    try:
        results = await asyncio.gather(*(batcher.score([pair]) for pair in PAIRS))
    finally:
        await batcher.stop()
        executor.shutdown()
    assert sum(recorder.batches) == len(PAIRS) and max(recorder.batches) > 1 and max(recorder.batches) <= 16
    singles = judge.score_batch(PAIRS)
    for (scored,), single in zip(results, singles):
        assert scored.batch_size >= 1 and scored.judge_ms > 0 and scored.queue_ms >= 0
        assert max(abs(a - b) for a, b in zip(scored.scores.values, single.values)) < 0.15


async def test_full_queue_is_refused_immediately(judge: Judge) -> None:
    batcher, _, executor = await _batcher(judge, max_batch_size=1, max_wait_ms=0, max_queue=4)
    try:
        first = asyncio.ensure_future(batcher.score(PAIRS[:4]))
        await asyncio.sleep(0)
        with pytest.raises(Overloaded, match=r"queue is full \(\d+ pairs waiting, limit 4\)"):
            await batcher.score(PAIRS[4:8])
        assert len(await first) == 4
    finally:
        await batcher.stop()
        executor.shutdown()


async def test_cancelled_callers_pairs_never_reach_the_model(judge: Judge) -> None:
    batcher, recorder, executor = await _batcher(judge, max_batch_size=4, max_wait_ms=0, max_queue=64)
    try:
        kept = asyncio.ensure_future(batcher.score(PAIRS[:4]))
        dropped = asyncio.ensure_future(batcher.score(PAIRS[4:24]))
        await asyncio.sleep(0)  # both queued; the first batch (kept) is running
        dropped.cancel()
        assert len(await kept) == 4
        with pytest.raises(asyncio.CancelledError):
            await dropped
        await asyncio.sleep(0.05)
    finally:
        await batcher.stop()
        executor.shutdown()
    assert sum(recorder.batches) < 24  # the cancelled caller's 20 pairs were (mostly) skipped


async def test_a_failing_session_is_unavailable_and_reported(judge: Judge) -> None:
    class BrokenJudge:
        """Fault injection: the session raises as onnxruntime does on a device error."""

        def score_batch(self, pairs):
            raise RuntimeError("CUDA error: device lost")

    batcher, recorder, executor = await _batcher(BrokenJudge(), max_batch_size=4, max_wait_ms=0, max_queue=8)  # type: ignore[arg-type]
    try:
        with pytest.raises(JudgeUnavailable, match="judge failed"):
            await batcher.score(PAIRS[:2])
    finally:
        await batcher.stop()
        executor.shutdown()
    assert recorder.results == [False]


async def test_not_started_or_stopped_batcher_is_unavailable(judge: Judge) -> None:
    batcher = MicroBatcher(judge, BatchingConfig(), ThreadPoolExecutor(max_workers=1))
    with pytest.raises(JudgeUnavailable, match="not running"):
        await batcher.score(PAIRS[:1])
