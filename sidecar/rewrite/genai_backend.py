"""onnxruntime-genai backend: a local model directory (verified manifest), CPU or the CUDA build on GPU.

The model directory is the one ``python -m export.rewriter`` writes (or any onnxruntime-genai model
with a manifest from ``--adopt``). Its manifest's files are hashed at load. The execution provider
comes from the manifest (a model built with ``-e cuda`` runs on CUDA with onnxruntime-genai-cuda); a
CUDA model on a build without CUDA is refused at load, never silently moved to the CPU.

Generation is token by token under a lock (one generation at a time: on a few CPU cores parallel
generations only slow each other down); the loop checks the deadline after every token.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from sidecar.rewrite.backend import BackendError, BackendTimeout, Generation, Message
from sidecar.rewrite.manifest import RewriterModel, RewriterModelError, load_rewriter_model


class GenAIBackend:
    """Generates with onnxruntime-genai from a verified model directory."""

    constrained = True

    def __init__(self, model_dir: str | Path) -> None:
        """Load and verify the model.

        Raises:
            RewriterModelError: missing/corrupt directory, onnxruntime-genai not installed, or a CUDA
                model without a CUDA-enabled onnxruntime-genai.
        """
        try:
            import onnxruntime_genai as og
        except ImportError:
            raise RewriterModelError(
                "rewriter.backend is local but onnxruntime-genai is not installed: `pip install 'theraguard[rewrite]'` "
                "(onnxruntime-genai-cuda on GPU images), or set rewriter.backend: none"
            ) from None
        self._og = og
        model: RewriterModel = load_rewriter_model(model_dir)
        self.model = model
        self.name = model.name
        self.execution_provider = model.manifest.execution_provider
        config = og.Config(str(model.directory))
        config.clear_providers()
        if self.execution_provider == "cuda":
            if not og.is_cuda_available():
                raise RewriterModelError(
                    f"{model.directory} is built for CUDA but this onnxruntime-genai has no CUDA support: install "
                    "onnxruntime-genai-cuda, or point rewriter.model_dir at a CPU build (make rewriter)"
                )
            config.append_provider("cuda")
        try:
            self._model = og.Model(config)
            self._tokenizer = og.Tokenizer(self._model)
        except Exception as err:  # noqa: BLE001 - onnxruntime-genai raises its own RuntimeError types
            raise RewriterModelError(f"cannot load the rewriter model {model.directory}: {err}") from None
        self._lock = threading.Lock()
        self._stop_ids = frozenset(int(i) for i in self._tokenizer.eos_token_ids)

    def warm_up(self) -> float:
        """One tiny generation (allocations, kernels) so the first request is not the slow one; seconds."""
        started = time.monotonic()
        self.generate([Message("user", "Hello")], 2, started + 30)
        return time.monotonic() - started

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text))

    def render(self, messages: Sequence[Message], prefix: str = "") -> str:
        """The prompt text: the model's chat template plus the start of the assistant turn."""
        payload = json.dumps([{"role": m.role, "content": m.content} for m in messages])
        return self._tokenizer.apply_chat_template(payload, add_generation_prompt=True) + prefix

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
        started = time.monotonic()
        if not self._lock.acquire(timeout=max(0.0, deadline - started)):
            raise BackendTimeout("the rewriter model was busy until the deadline")
        try:
            return self._generate(messages, max_new_tokens, deadline, prefix, pattern, started)
        finally:
            self._lock.release()

    def _generate(
        self,
        messages: Sequence[Message],
        max_new_tokens: int,
        deadline: float,
        prefix: str,
        pattern: str | None,
        started: float,
    ) -> Generation:
        og = self._og
        try:
            prompt = self._tokenizer.encode(self.render(messages, prefix))
            params = og.GeneratorParams(self._model)
            params.set_search_options(
                max_length=len(prompt) + max_new_tokens, do_sample=False, repetition_penalty=1.1
            )
            if pattern is not None:
                params.set_guidance("regex", pattern)
            generator = og.Generator(self._model, params)
            if time.monotonic() >= deadline:
                raise BackendTimeout("the deadline passed before generation started")
            generator.append_tokens(prompt)
            stream = self._tokenizer.create_stream()
            pieces: list[str] = []
            tokens = 0
            finish = "length"
            while tokens < max_new_tokens:
                if generator.is_done():
                    finish = "stop"
                    break
                if time.monotonic() >= deadline:
                    finish = "deadline"
                    break
                generator.generate_next_token()
                token = int(generator.get_next_tokens()[0])
                tokens += 1
                if token in self._stop_ids:
                    finish = "stop"
                    break
                pieces.append(stream.decode(token))
        except BackendError:
            raise
        except Exception as err:
            raise BackendError(f"onnxruntime-genai failed while generating: {type(err).__name__}") from err
        return Generation(
            text="".join(pieces),
            tokens=tokens,
            finish=finish,  # type: ignore[arg-type]
            elapsed_ms=(time.monotonic() - started) * 1000,
            prompt_tokens=len(prompt),
        )
