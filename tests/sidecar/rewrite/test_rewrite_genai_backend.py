"""The onnxruntime-genai backend on the real SmolLM2-135M int4 model: text, budget, deadline, pattern."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from sidecar.rewrite.backend import BackendTimeout, Message
from sidecar.rewrite.genai_backend import GenAIBackend
from sidecar.rewrite.manifest import MANIFEST_FILE, RewriterModelError

STORY = [Message("user", "Tell me a long story about a lighthouse keeper and the sea.")]


@pytest.fixture(scope="module")
def backend(rewriter_dir: Path) -> GenAIBackend:
    model = GenAIBackend(rewriter_dir)
    model.warm_up()
    return model


def test_loads_verified_model(backend: GenAIBackend) -> None:
    assert backend.name == "SmolLM2-135M-Instruct"
    assert backend.execution_provider == "cpu" and backend.constrained


@pytest.mark.slow
def test_generates_clean_text(backend: GenAIBackend) -> None:
    """The tokenizer trap: decoded text must be words and spaces, not byte-level symbols."""
    out = backend.generate(
        [Message("user", "Say something kind to a friend who is tired.")], 24, time.monotonic() + 10
    )
    assert out.tokens > 3 and out.text.strip()
    assert " " in out.text
    assert not any(sym in out.text for sym in ("\u0120", "\u010a", "<|im_start|>", "<|im_end|>"))


def test_tokenizer_round_trip(backend: GenAIBackend) -> None:
    text = "I can't sleep,\n and it's been 3 weeks. Je suis épuisé 😔"
    assert backend.count_tokens(text) > 5
    tokenizer = backend._tokenizer  # the runtime's own tokenizer, as generation uses it
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_stops_at_token_budget(backend: GenAIBackend) -> None:
    out = backend.generate(STORY, 6, time.monotonic() + 10)
    assert (out.tokens, out.finish) == (6, "length")


@pytest.mark.slow
def test_stops_at_deadline(backend: GenAIBackend) -> None:
    started = time.monotonic()
    out = backend.generate(STORY, 400, started + 0.4)
    assert out.finish == "deadline"
    assert 0 < out.tokens < 400
    assert time.monotonic() - started < 0.4 + 0.25  # one token and the prompt's prefill at most past it


def test_pattern_constrains_the_continuation(backend: GenAIBackend) -> None:
    out = backend.generate(
        [Message("user", "Is the sky blue on a clear day? Answer yes or no.")], 8, time.monotonic() + 10,
        prefix="Answer:", pattern=r" (yes|no)\.",
    )  # fmt: skip
    assert out.finish == "stop" and out.text in (" yes.", " no.")


@pytest.mark.slow
def test_busy_model_times_out_at_the_deadline(backend: GenAIBackend) -> None:
    started = threading.Event()

    def long_generation() -> None:
        started.set()
        backend.generate(STORY, 400, time.monotonic() + 1.0)

    worker = threading.Thread(target=long_generation)
    worker.start()
    started.wait()
    time.sleep(0.05)
    with pytest.raises(BackendTimeout, match="busy"):
        backend.generate(STORY, 4, time.monotonic() + 0.2)
    worker.join()


def test_rejects_a_zero_budget(backend: GenAIBackend) -> None:
    with pytest.raises(ValueError, match="max_new_tokens must be >= 1"):
        backend.generate(STORY, 0, time.monotonic() + 1)


def test_cuda_model_needs_a_cuda_build(rewriter_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "cuda-model"
    shutil.copytree(rewriter_dir, copy)
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    manifest["execution_provider"] = "cuda"
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    import onnxruntime_genai as og

    if og.is_cuda_available():
        pytest.skip("this onnxruntime-genai has CUDA: the refusal only applies to CPU builds")
    with pytest.raises(RewriterModelError, match="built for CUDA .* onnxruntime-genai-cuda"):
        GenAIBackend(copy)
