"""Dynamic micro-batching: concurrent calls' pairs share one judge run.

Calls put their pairs on a bounded queue and await futures. One worker forms a batch of up to
``max_batch_size`` pairs and runs it in a thread executor so the event loop stays free to accept and
answer calls; pairs arriving meanwhile form the next batch, so under load batches fill by themselves.
The first pair of a batch lingers up to ``max_wait_ms`` for company only while the sidecar is under
concurrent load (the previous batch held more than one pair): a lone call never waits. A full queue
is refused at once (Overloaded -> RESOURCE_EXHAUSTED); pairs of callers that gave up are dropped
before they reach the model.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from sidecar.config import BatchingConfig
from sidecar.domain import Scores, Turn
from sidecar.errors import JudgeUnavailable, Overloaded
from sidecar.judge import Judge

_log = logging.getLogger("theraguard.batcher")
Pair = tuple[Sequence[Turn], str]


@dataclass(frozen=True)
class ScoredPair:
    """One pair's scores and where its time went."""

    scores: Scores
    queue_ms: float  # waiting for a batch slot
    judge_ms: float  # the batch's encode + model run
    batch_size: int


@dataclass
class _Item:
    pair: Pair
    future: asyncio.Future[ScoredPair]
    enqueued: float


class MicroBatcher:
    """Queues pairs from concurrent calls and scores them in batches on one executor thread."""

    def __init__(
        self,
        judge: Judge,
        config: BatchingConfig,
        executor: Executor,
        *,
        on_batch: Callable[[int, int], None] | None = None,  # (batch size, queue depth after)
        on_judge_result: Callable[[bool], None] | None = None,  # True = ok, False = session failed
    ) -> None:
        self._judge = judge
        self._config = config
        self._executor = executor
        self._queue: collections.deque[_Item] = collections.deque()
        self._wakeup = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._last_batch = 0
        self._on_batch = on_batch or (lambda size, depth: None)
        self._on_judge_result = on_judge_result or (lambda ok: None)

    @property
    def depth(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._run(), name="theraguard-batcher")

    async def stop(self) -> None:
        """Stop the worker; pairs still queued get UNAVAILABLE."""
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None
        while self._queue:
            item = self._queue.popleft()
            if not item.future.done():
                item.future.set_exception(
                    JudgeUnavailable("the sidecar is shutting down; retry on another instance")
                )

    async def score(self, pairs: Sequence[Pair]) -> list[ScoredPair]:
        """Score pairs (in order) as part of whatever batches form; Overloaded when the queue is full."""
        if self._worker is None:
            raise JudgeUnavailable("the judge is not running (starting up or shutting down); retry shortly")
        if len(self._queue) + len(pairs) > self._config.max_queue:
            raise Overloaded(
                f"the judge queue is full ({len(self._queue)} pairs waiting, limit {self._config.max_queue}); "
                "retry with backoff"
            )
        loop = asyncio.get_running_loop()
        now = time.perf_counter()
        futures = []
        for pair in pairs:
            future: asyncio.Future[ScoredPair] = loop.create_future()
            self._queue.append(_Item(pair, future, now))
            futures.append(future)
        self._wakeup.set()
        try:
            if len(futures) == 1:  # the common case: no gathering future to build
                return [await futures[0]]
            return list(await asyncio.gather(*futures))
        finally:
            # Caller cancelled (or one pair failed): drop the rest before they reach the model.
            for future in futures:
                if not future.done():
                    future.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        max_batch = self._config.max_batch_size
        linger = self._config.max_wait_ms / 1000
        while True:
            while not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
            if linger > 0 and self._last_batch > 1 and len(self._queue) < max_batch:
                until = loop.time() + linger
                while len(self._queue) < max_batch and (left := until - loop.time()) > 0:
                    self._wakeup.clear()
                    try:
                        await asyncio.wait_for(self._wakeup.wait(), left)
                    except TimeoutError:
                        break
            batch: list[_Item] = []
            while self._queue and len(batch) < max_batch:
                item = self._queue.popleft()
                if not item.future.done():  # skip pairs whose caller gave up
                    batch.append(item)
            if not batch:
                continue
            self._last_batch = len(batch)
            self._on_batch(len(batch), len(self._queue))
            started = time.perf_counter()
            try:
                results = await loop.run_in_executor(
                    self._executor, self._judge.score_batch, [i.pair for i in batch]
                )
            except Exception as err:  # noqa: BLE001 - any session failure is "judge unavailable" to callers
                _log.error("judge_failed", extra={"error_type": type(err).__name__, "batch_size": len(batch)})
                self._on_judge_result(False)
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(
                            JudgeUnavailable("the judge failed to score this batch; retry shortly")
                        )
                continue
            self._on_judge_result(True)
            judge_ms = (time.perf_counter() - started) * 1000
            for item, scores in zip(batch, results):
                if not item.future.done():
                    queue_ms = (started - item.enqueued) * 1000
                    item.future.set_result(ScoredPair(scores, queue_ms, judge_ms, len(batch)))
