"""ProcessBackend: the model in a child process, so generation never stalls the caller's threads."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from sidecar.rewrite.backend import BackendError, Message
from sidecar.rewrite.manifest import RewriterModelError
from sidecar.rewrite.worker import ProcessBackend

LONG_PROMPT = [
    Message("system", "You are kind and careful. " * 40),
    Message("user", "Tell me about lighthouses. " * 8),
]


@pytest.mark.slow
def test_generation_does_not_hold_the_gil(local_backend) -> None:
    """In-process onnxruntime-genai stalls other threads for a whole prefill; the worker must not."""
    gaps: list[float] = []
    stop = threading.Event()

    def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    thread = threading.Thread(target=ticker)
    thread.start()
    out = local_backend.generate(LONG_PROMPT, 20, time.monotonic() + 20)
    stop.set()
    thread.join()
    assert out.tokens == 20 and out.prompt_tokens > 250
    assert max(gaps) < 0.1, f"a thread stalled {max(gaps):.3f} s while the model generated"


def test_missing_model_is_reported_from_the_child(tmp_path: Path) -> None:
    with pytest.raises(RewriterModelError, match="does not exist.*make rewriter"):
        ProcessBackend(tmp_path / "absent")


@pytest.mark.slow
def test_dead_worker_fails_fast_then_restarts(rewriter_dir: Path) -> None:
    backend = ProcessBackend(rewriter_dir)
    try:
        os.kill(backend.pid, signal.SIGKILL)
        time.sleep(0.2)
        with pytest.raises(BackendError, match="exited"):
            backend.generate([Message("user", "hi")], 4, time.monotonic() + 2)
        for _ in range(200):  # the restart happens in the background (~1 s)
            if backend.restarts:
                break
            time.sleep(0.1)
        assert backend.restarts == 1
        out = backend.generate([Message("user", "Say hello.")], 4, time.monotonic() + 5)
        assert out.tokens == 4
    finally:
        backend.close()


@pytest.mark.slow
def test_runner_close_stops_the_worker(rewriter_dir: Path) -> None:
    from sidecar.rewrite.coach import Coach
    from sidecar.rewrite.critic import Critic
    from sidecar.rewrite.runner import OnePassRewriteRunner
    from sidecar.rewrite.therapist import Therapist

    backend = ProcessBackend(rewriter_dir)
    process = backend._worker.process
    OnePassRewriteRunner(Critic(), Coach(), Therapist(backend), 60).close()
    assert process.wait(5) == 0  # exited cleanly at the end of its input
