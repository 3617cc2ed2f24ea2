"""The OpenAI-compatible backend against a real HTTP server (generating with the local model)."""

from __future__ import annotations

import socket
import time

import pytest

from sidecar.rewrite.backend import BackendError, BackendTimeout, Message
from sidecar.rewrite.openai_backend import OpenAICompatibleBackend, completions_url

ASK = [Message("system", "You are kind."), Message("user", "I had a rough day at work.")]


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://h:8000", "http://h:8000/v1/chat/completions"),
        ("http://h:8000/", "http://h:8000/v1/chat/completions"),
        ("http://h:8000/v1", "http://h:8000/v1/chat/completions"),
        ("https://h/api/v1/", "https://h/api/v1/chat/completions"),
    ],
    ids=["bare", "trailing-slash", "with-v1", "path-prefix"],
)
def test_completions_url(base: str, url: str) -> None:
    assert completions_url(base) == url


@pytest.mark.slow
def test_generates_and_sends_the_key(chat_server) -> None:
    backend = OpenAICompatibleBackend.from_env(chat_server.url, "smol", "TG_KEY", 10, {"TG_KEY": "sk-test"})
    out = backend.generate(ASK, 12, time.monotonic() + 10)
    assert out.text.strip() and 0 < out.tokens <= 12
    assert chat_server.authorizations == ["Bearer sk-test"]
    body = chat_server.bodies[0]
    assert (body["model"], body["max_tokens"], body["temperature"]) == ("smol", 12, 0)
    assert backend.name == "openai:smol"


def test_no_key_no_header(chat_server) -> None:
    chat_server.raw = b'{"choices": [{"message": {"content": "Hello there."}, "finish_reason": "stop"}]}'
    backend = OpenAICompatibleBackend.from_env(chat_server.url, "smol", "TG_KEY_UNSET", 10, {})
    out = backend.generate(ASK, 8, time.monotonic() + 10)
    assert out.text == "Hello there." and out.tokens == 2  # no usage: counted in words
    assert chat_server.authorizations == [""]


@pytest.mark.parametrize(
    ("setup", "error", "message"),
    [
        (lambda s: setattr(s, "status", 500), BackendError, "HTTP 500"),
        (lambda s: setattr(s, "raw", b"<html>oops</html>"), BackendError, "not JSON"),
        (lambda s: setattr(s, "raw", b'{"choices": []}'), BackendError, "no choices"),
        (lambda s: setattr(s, "delay_s", 1.0), BackendTimeout, "did not answer within"),
    ],
    ids=["http-500", "not-json", "no-choices", "slow-server"],
)
def test_failures_are_backend_errors(chat_server, setup, error: type[Exception], message: str) -> None:
    setup(chat_server)
    backend = OpenAICompatibleBackend(chat_server.url, "smol", timeout_s=0.3)
    with pytest.raises(error, match=message):
        backend.generate(ASK, 8, time.monotonic() + 10)


def test_deadline_caps_the_timeout(chat_server) -> None:
    chat_server.delay_s = 1.0
    backend = OpenAICompatibleBackend(chat_server.url, "smol", timeout_s=30)
    started = time.monotonic()
    with pytest.raises(BackendTimeout):
        backend.generate(ASK, 8, started + 0.3)
    assert time.monotonic() - started < 0.6


def test_unreachable_server() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = OpenAICompatibleBackend(f"http://127.0.0.1:{port}", "smol", timeout_s=2)
    with pytest.raises(BackendError, match="cannot reach"):
        backend.generate(ASK, 8, time.monotonic() + 5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "ftp://x", "model": "m"}, "must start with http"),
        ({"base_url": "http://x", "model": ""}, "must name the served model"),
        ({"base_url": "http://x", "model": "m", "timeout_s": 0}, "timeout_s must be in"),
    ],
    ids=["bad-scheme", "no-model", "zero-timeout"],
)
def test_rejects_bad_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OpenAICompatibleBackend(**kwargs)


def test_pattern_is_not_supported() -> None:
    with pytest.raises(ValueError, match="constrained decoding"):
        OpenAICompatibleBackend("http://x", "m").generate(ASK, 4, time.monotonic() + 1, pattern="x")
