"""build_runner: the configured rewriter, or a clear error that stops start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.config import OpenAIConfig, RewriterConfig
from sidecar.rewrite.factory import build_runner
from sidecar.rewrite.manifest import RewriterModelError
from sidecar.rewrite.runner import OnePassRewriteRunner


def test_none_disables_rewriting() -> None:
    assert build_runner(RewriterConfig(backend="none")) is None


@pytest.mark.slow
def test_local_builds_a_verified_scaffold_runner(rewriter_dir: Path) -> None:
    runner = build_runner(RewriterConfig(backend="local", model_dir=rewriter_dir, max_new_tokens=90))
    assert isinstance(runner, OnePassRewriteRunner)
    assert (runner.max_new_tokens, runner.model, runner.therapist.mode) == (
        90,
        "SmolLM2-135M-Instruct",
        "scaffold",
    )


def test_local_with_missing_model_stops_startup(tmp_path: Path) -> None:
    with pytest.raises(RewriterModelError, match="does not exist.*make rewriter"):
        build_runner(RewriterConfig(backend="local", model_dir=tmp_path / "absent"))


def test_openai_reads_the_key_from_the_named_env_var() -> None:
    cfg = RewriterConfig(
        backend="openai",
        openai=OpenAIConfig(
            base_url="http://pool:8000/v1", model="llama", api_key_env="POOL_KEY", timeout_s=3
        ),
    )
    runner = build_runner(cfg, env={"POOL_KEY": "sk-secret"})
    backend = runner.therapist.backend
    assert (backend.url, backend.timeout_s, backend.name) == (
        "http://pool:8000/v1/chat/completions",
        3.0,
        "openai:llama",
    )
    assert backend._api_key == "sk-secret"
    assert runner.therapist.mode == "free"


def test_unknown_backend() -> None:
    class Config:
        backend = "llamacpp"

    with pytest.raises(ValueError, match="rewriter.backend must be one of"):
        build_runner(Config())
