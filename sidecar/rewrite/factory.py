"""Builds the configured rewrite runner: the one visible place where the rewriter's config is read.

``backend: local`` loads and verifies the onnxruntime-genai model directory in a worker process (a
missing or corrupt model stops start-up, with the fix in the message); ``openai`` talks to a remote OpenAI-compatible
server; ``none`` disables rewriting (the guard then uses the policy fallback for critical failures).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sidecar.rewrite.api import RewriteRunner
from sidecar.rewrite.coach import Coach
from sidecar.rewrite.critic import Critic
from sidecar.rewrite.openai_backend import OpenAICompatibleBackend
from sidecar.rewrite.runner import OnePassRewriteRunner
from sidecar.rewrite.therapist import Therapist
from sidecar.rewrite.worker import ProcessBackend

_log = logging.getLogger("theraguard.rewrite")


def build_runner(cfg: Any, env: Mapping[str, str] | None = None) -> RewriteRunner | None:
    """The runner for ``cfg`` (a ``sidecar.config.RewriterConfig``); None when the backend is "none".

    Raises:
        RewriterModelError: ``local`` with a missing, corrupt or unloadable model directory.
        ValueError: an unknown backend or invalid OpenAI settings.
    """
    backend_name = cfg.backend
    if backend_name == "none":
        return None
    if backend_name == "local":
        backend = ProcessBackend(Path(cfg.model_dir))
        _log.info(
            "rewriter_loaded",
            extra={
                "model": backend.name,
                "provider": backend.execution_provider,
                "warm_up_s": round(backend.warm_up_s, 3),
            },
        )
        therapist = Therapist(backend)
    elif backend_name == "openai":
        o = cfg.openai
        remote = OpenAICompatibleBackend.from_env(
            o.base_url, o.model, o.api_key_env, float(o.timeout_s), os.environ if env is None else env
        )
        _log.info("rewriter_remote", extra={"model": remote.name, "url": remote.url})
        therapist = Therapist(remote)
    else:
        raise ValueError(
            f"rewriter.backend must be one of ['local', 'openai', 'none'] (got: {backend_name!r})"
        )
    return OnePassRewriteRunner(Critic(), Coach(), therapist, int(cfg.max_new_tokens))
