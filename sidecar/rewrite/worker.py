"""ProcessBackend: the local model in a child process, so generation never blocks the sidecar's event loop.

onnxruntime-genai 0.18 holds the GIL inside ``append_tokens``/``generate_next_token`` (measured: a
306-token prompt stalled another Python thread for ~1 s). In a worker thread that would freeze the
gRPC event loop, and every Score call with it, for the length of each prefill. So the model lives in
a child process (``python -m sidecar.rewrite.worker MODEL_DIR``, JSON lines over its stdin/stdout);
the parent sends one request at a time and waits for the answer without holding the GIL.

Deadlines are ``time.monotonic()`` values, which are system-wide on Linux: the child stops generating
at the caller's deadline by itself. A child that dies is restarted in the background; calls meanwhile
fail with BackendError (the guard then uses the fallback).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from sidecar.rewrite.backend import BackendError, BackendTimeout, Generation, Message
from sidecar.rewrite.manifest import RewriterModelError

_log = logging.getLogger("theraguard.rewrite")
# How long past the deadline the parent waits for the child's answer (one token or one prompt chunk).
REPLY_GRACE_S = 0.1
START_TIMEOUT_S = 120.0
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the directory holding the sidecar package


def serve(model_dir: str, requests: IO[str], replies: IO[str]) -> int:
    """The child's loop: load and verify the model, then answer generate requests until stdin closes."""
    from sidecar.rewrite.genai_backend import GenAIBackend

    def send(*message: Any) -> None:
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    try:
        backend = GenAIBackend(model_dir)
        warm = backend.warm_up()
    except Exception as err:  # noqa: BLE001 - every load failure goes back to the parent as its message
        send("error", 0, str(err))
        return 1
    send(
        "ready",
        0,
        {"name": backend.name, "execution_provider": backend.execution_provider, "warm_up_s": warm},
    )
    for line in requests:
        request_id, messages, max_new_tokens, deadline, prefix, pattern = json.loads(line)
        try:
            generation = backend.generate(
                [Message(role, content) for role, content in messages], max_new_tokens, deadline,
                prefix=prefix, pattern=pattern,
            )  # fmt: skip
            send("ok", request_id, asdict(generation))
        except BackendTimeout as err:
            send("timeout", request_id, str(err))
        except Exception as err:  # noqa: BLE001 - reported to the parent by type and message (no request text)
            send("error", request_id, f"{type(err).__name__}: {err}")
    return 0


class _Worker:
    """One child process and the thread that reads its answers into a queue."""

    def __init__(self, model_dir: str) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sidecar.rewrite.worker", model_dir],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1, env=env,
        )  # fmt: skip
        self.replies: queue.Queue[tuple[str, int, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="theraguard-rewriter-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                kind, request_id, payload = json.loads(line)
            except (ValueError, TypeError):
                continue  # not a protocol line
            self.replies.put((kind, request_id, payload))
        self.replies.put(None)  # the child closed its stdout: it exited

    def send(self, *message: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        try:
            if self.process.stdin:
                self.process.stdin.close()  # the child's loop ends at EOF
            self.process.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(timeout)


class ProcessBackend:
    """A GenAIBackend running in a child process; same ``generate`` contract."""

    constrained = True

    def __init__(self, model_dir: str | Path, *, start_timeout_s: float = START_TIMEOUT_S) -> None:
        """Start the child and wait until the model is loaded, verified and warm.

        Raises:
            RewriterModelError: the child could not load the model (the child's message), or did not
                start within ``start_timeout_s``.
        """
        self._model_dir = str(model_dir)
        self._start_timeout_s = start_timeout_s
        self._lock = threading.Lock()
        self._request_id = 0
        self._restarting = False
        self.restarts = 0
        self._worker, info = self._spawn()
        self._finalizer = weakref.finalize(self, _stop_quietly, self._worker)
        self.name: str = info["name"]
        self.execution_provider: str = info["execution_provider"]
        self.warm_up_s: float = info["warm_up_s"]

    @property
    def pid(self) -> int:
        return self._worker.process.pid

    def _spawn(self) -> tuple[_Worker, dict[str, Any]]:
        worker = _Worker(self._model_dir)
        try:
            reply = worker.replies.get(timeout=self._start_timeout_s)
        except queue.Empty:
            worker.stop(0)
            raise RewriterModelError(
                f"the rewriter worker did not load {self._model_dir} within {self._start_timeout_s:.0f} s"
            ) from None
        if reply is None:
            worker.stop()
            raise RewriterModelError(
                f"the rewriter worker exited while loading {self._model_dir} (exit code {worker.process.returncode}); "
                "see its error output above"
            )
        kind, _, payload = reply
        if kind != "ready":
            worker.stop()
            raise RewriterModelError(str(payload))
        return worker, payload

    def generate(
        self,
        messages: Sequence[Message],
        max_new_tokens: int,
        deadline: float,
        *,
        prefix: str = "",
        pattern: str | None = None,
    ) -> Generation:
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1 (got: {max_new_tokens})")
        if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise BackendTimeout("the rewriter model was busy until the deadline")
        try:
            if self._restarting:
                raise BackendError("the rewriter worker is restarting")
            worker = self._worker
            if not worker.alive():
                self._restart_in_background()
                raise BackendError(
                    f"the rewriter worker exited (code {worker.process.returncode}); restarting it"
                )
            self._request_id += 1
            request_id = self._request_id
            try:
                worker.send(
                    request_id,
                    [(m.role, m.content) for m in messages],
                    int(max_new_tokens),
                    deadline,
                    prefix,
                    pattern,
                )
            except (BrokenPipeError, OSError) as err:
                self._restart_in_background()
                raise BackendError(
                    f"the rewriter worker connection failed ({type(err).__name__}); restarting it"
                ) from None
            return self._await_reply(worker, request_id, deadline)
        finally:
            self._lock.release()

    def _await_reply(self, worker: _Worker, request_id: int, deadline: float) -> Generation:
        while True:
            left = deadline + REPLY_GRACE_S - time.monotonic()
            try:
                reply = worker.replies.get(timeout=left) if left > 0 else worker.replies.get_nowait()
            except queue.Empty:
                raise BackendTimeout("the rewriter worker did not answer before the deadline") from None
            if reply is None:
                self._restart_in_background()
                raise BackendError("the rewriter worker exited while generating; restarting it")
            kind, reply_id, payload = reply
            if reply_id != request_id:
                continue  # a late answer to a call that already gave up
            if kind == "ok":
                return Generation(**payload)
            if kind == "timeout":
                raise BackendTimeout(str(payload))
            raise BackendError(str(payload))

    def _restart_in_background(self) -> None:
        if self._restarting:
            return
        self._restarting = True
        old = self._worker

        def restart() -> None:
            try:
                old.stop(1)
                worker, _ = self._spawn()
                self._worker = worker
                self._finalizer.detach()
                self._finalizer = weakref.finalize(self, _stop_quietly, worker)
                self.restarts += 1
                _log.warning("rewriter_worker_restarted", extra={"restarts": self.restarts})
            except Exception as err:  # noqa: BLE001 - calls keep failing with BackendError; log the type
                _log.error("rewriter_worker_restart_failed", extra={"error_type": type(err).__name__})
            finally:
                self._restarting = False

        threading.Thread(target=restart, name="theraguard-rewriter-restart", daemon=True).start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the child (it also exits when the parent goes away: its stdin closes)."""
        self._finalizer.detach()
        self._worker.stop(timeout)


def _stop_quietly(worker: _Worker) -> None:
    # A backend dropped without close() must not leave its child behind.
    worker.stop(1)


def main(argv: Sequence[str] | None = None) -> int:
    """Child entry point: the protocol runs on the original stdout; anything else printed goes to stderr."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m sidecar.rewrite.worker MODEL_DIR", file=sys.stderr)
        return 2
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # stray prints (native libraries included) must not corrupt the protocol
    return serve(args[0], sys.stdin, replies)


if __name__ == "__main__":
    raise SystemExit(main())
