"""Remote backend: any OpenAI-compatible /v1/chat/completions server (vLLM, TGI, NIM), stdlib HTTP only.

For teams with a shared GPU pool. The API key is read from the environment variable the config names,
once, when the backend is built; it is sent as a bearer token and never logged. Each call's timeout is
the smaller of the configured timeout and the time left before the deadline.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

from sidecar.rewrite.backend import BackendError, BackendTimeout, Generation, Message


def completions_url(base_url: str) -> str:
    """The chat completions endpoint for a base URL given with or without the /v1 suffix."""
    base = base_url.rstrip("/")
    return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"


class OpenAICompatibleBackend:
    """Generates through a remote OpenAI-compatible chat completions endpoint."""

    constrained = False  # no portable constrained decoding across vLLM/TGI/NIM

    def __init__(self, base_url: str, model: str, *, api_key: str = "", timeout_s: float = 5.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"rewriter.openai.base_url must start with http:// or https:// (got: {base_url!r})"
            )
        if not model:
            raise ValueError("rewriter.openai.model must name the served model (got: '')")
        if not 0 < timeout_s <= 600:
            raise ValueError(f"rewriter.openai.timeout_s must be in (0, 600] (got: {timeout_s})")
        self.url = completions_url(base_url)
        self.model = model
        self.name = f"openai:{model}"
        self.timeout_s = float(timeout_s)
        self._api_key = api_key

    @classmethod
    def from_env(
        cls, base_url: str, model: str, api_key_env: str, timeout_s: float, env: Mapping[str, str]
    ) -> OpenAICompatibleBackend:
        """Build with the key read from ``env[api_key_env]`` (absent: no Authorization header)."""
        return cls(
            base_url, model, api_key=env.get(api_key_env, "") if api_key_env else "", timeout_s=timeout_s
        )

    def generate(
        self,
        messages: Sequence[Message],
        max_new_tokens: int,
        deadline: float,
        *,
        prefix: str = "",
        pattern: str | None = None,
    ) -> Generation:
        if pattern is not None:
            raise ValueError("OpenAICompatibleBackend does not support constrained decoding (pattern)")
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1 (got: {max_new_tokens})")
        started = time.monotonic()
        timeout = min(self.timeout_s, deadline - started)
        if timeout <= 0:
            raise BackendTimeout("the deadline passed before the request could be sent")
        chat = [{"role": m.role, "content": m.content} for m in messages]
        if prefix:
            # Chat completions cannot portably pre-fill the assistant turn: ask for the opening instead.
            chat.append({"role": "user", "content": f"Begin your reply with: {prefix}"})
        body = json.dumps(
            {
                "model": self.model,
                "messages": chat,
                "max_tokens": int(max_new_tokens),
                "temperature": 0,
                "stream": False,
            }
        ).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as err:
            raise BackendError(f"the rewriter server answered HTTP {err.code} at {self.url}") from None
        except TimeoutError:
            raise BackendTimeout(f"the rewriter server did not answer within {timeout:.2f} s") from None
        except urllib.error.URLError as err:
            if isinstance(err.reason, TimeoutError | socket.timeout):
                raise BackendTimeout(f"the rewriter server did not answer within {timeout:.2f} s") from None
            raise BackendError(
                f"cannot reach the rewriter server at {self.url}: {type(err.reason).__name__}"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BackendError(
                f"the rewriter server at {self.url} returned a body that is not JSON"
            ) from None
        try:
            choice = payload["choices"][0]
            text = choice["message"]["content"] or ""
            reason = choice.get("finish_reason") or "stop"
        except (KeyError, IndexError, TypeError):
            raise BackendError(
                f"the rewriter server at {self.url} returned no choices[0].message.content"
            ) from None
        usage = payload.get("usage") or {}
        tokens = int(usage.get("completion_tokens") or len(text.split()))
        if prefix and text.startswith(prefix):
            text = text[len(prefix) :]
        return Generation(
            text=text,
            tokens=tokens,
            finish="length" if reason == "length" else "stop",
            elapsed_ms=(time.monotonic() - started) * 1000,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
        )
