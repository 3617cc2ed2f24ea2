"""The text-generation backend protocol the Therapist writes with, and its result.

One method, ``generate``: chat messages in, one bounded generation out, synchronous (the runner
calls it in a worker thread). A backend stops at the token budget or at the deadline, whichever comes
first, and says which in ``finish``. Implementations: ``GenAIBackend`` (onnxruntime-genai, local
model directory) and ``OpenAICompatibleBackend`` (a remote /v1/chat/completions server).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Finish = Literal["stop", "length", "deadline"]


class BackendError(RuntimeError):
    """The backend failed to generate (model error, HTTP error, bad response). Never carries message text."""


class BackendTimeout(BackendError):
    """The deadline passed before the backend could produce anything (busy, or the remote did not answer)."""


@dataclass(frozen=True)
class Message:
    """One chat message of a prompt."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Generation:
    """One generation: the text after any ``prefix``, tokens generated, and why it stopped."""

    text: str
    tokens: int
    finish: Finish  # stop: the model ended (or the pattern completed); length: budget; deadline: time
    elapsed_ms: float
    prompt_tokens: int = 0


class GenerationBackend(Protocol):
    """Generates text for the Therapist."""

    name: str  # model name/version, reported as the rewriter's version
    constrained: bool  # True when ``pattern`` is honoured (constrained decoding)

    def generate(
        self,
        messages: Sequence[Message],
        max_new_tokens: int,
        deadline: float,
        *,
        prefix: str = "",
        pattern: str | None = None,
    ) -> Generation:
        """Generate at most ``max_new_tokens`` tokens, stopping at ``deadline`` (time.monotonic()).

        ``prefix`` starts the assistant's turn (the returned text continues it). ``pattern`` is a
        regular expression the continuation must match; only backends with ``constrained`` honour it.

        Raises:
            BackendTimeout: nothing could be generated before the deadline.
            BackendError: the model or the server failed.
        """
        ...
