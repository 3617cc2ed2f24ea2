"""Shared fixtures: the real rewriter model (built once per checkout), the real judge as a ScoreFn, and a
real OpenAI-compatible HTTP server that generates with the same local model."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sidecar.domain import Scores, Turn

REPO = Path(__file__).resolve().parents[3]
REWRITER_DIR = REPO / "models" / "rewriter"


@pytest.fixture(scope="session")
def rewriter_dir() -> Path:
    # The export builds it on a fresh clone (~40 s on 2 cores); afterwards it is cached (gitignored).
    from export.rewriter import ensure_rewriter

    return ensure_rewriter(REWRITER_DIR)


@pytest.fixture(scope="session")
def local_backend(rewriter_dir: Path) -> Iterator:
    """The local model as the sidecar runs it: in a worker process (see sidecar/rewrite/worker.py)."""
    from sidecar.rewrite.worker import ProcessBackend

    backend = ProcessBackend(rewriter_dir)
    yield backend
    backend.close()


class CountingJudge:
    """The real judge as a ScoreFn, counting its calls (re-score is asserted, not assumed)."""

    def __init__(self, bundle: Path) -> None:
        from sidecar.bundle import load_bundle
        from sidecar.config import JudgeConfig
        from sidecar.judge import Judge

        self.judge = Judge(load_bundle(bundle), JudgeConfig(bundle=bundle, providers=("cpu",)))
        self.calls = 0
        self.replies: list[str] = []

    async def __call__(self, context: Sequence[Turn], reply: str) -> Scores:
        self.calls += 1
        self.replies.append(reply)
        (scores,) = await asyncio.to_thread(self.judge.score_batch, [(tuple(context), reply)])
        return scores


@pytest.fixture(scope="session")
def real_judge(judge_bundle: Path) -> CountingJudge:
    return CountingJudge(judge_bundle)


@pytest.fixture
def score(real_judge: CountingJudge) -> CountingJudge:
    real_judge.calls = 0
    real_judge.replies.clear()
    return real_judge


@dataclass
class ChatServer:
    """What the OpenAI-compatible test server saw and how it should behave."""

    url: str
    authorizations: list[str] = field(default_factory=list)
    bodies: list[dict] = field(default_factory=list)
    delay_s: float = 0.0
    status: int = 200
    raw: bytes | None = None  # answer this body instead of a completion


@pytest.fixture
def chat_server(local_backend) -> Iterator[ChatServer]:
    """A real /v1/chat/completions endpoint on 127.0.0.1:0 that generates with the local model."""
    from sidecar.rewrite.backend import Message

    state = ChatServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            state.bodies.append(body)
            state.authorizations.append(self.headers.get("Authorization", ""))
            if state.delay_s:
                time.sleep(state.delay_s)
            if self.path != "/v1/chat/completions":
                return self._send(404, b'{"error": "not found"}')
            if state.status != 200:
                return self._send(state.status, b'{"error": "server error"}')
            if state.raw is not None:
                return self._send(200, state.raw)
            messages = [Message(m["role"], m["content"]) for m in body["messages"]]
            out = local_backend.generate(messages, int(body["max_tokens"]), time.monotonic() + 30)
            payload = {
                "id": "cmpl-test", "object": "chat.completion", "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": out.text},
                             "finish_reason": "length" if out.finish == "length" else "stop"}],
                "usage": {"prompt_tokens": out.prompt_tokens, "completion_tokens": out.tokens},
            }  # fmt: skip
            self._send(200, json.dumps(payload).encode())

        def _send(self, status: int, data: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up at its deadline: exactly what some tests do

        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(5)
