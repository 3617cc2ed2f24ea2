"""The judge runtime: an onnxruntime session over the bundle, on the first usable execution provider.

Provider order comes from config (tensorrt -> cuda -> cpu). The fp16 model runs on TensorRT/CUDA, the
int8 model on CPU. Which provider actually runs is logged and exposed (metrics, health, responses);
with ``require_gpu`` a CPU-only outcome is refused at start-up instead of silently degrading.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from sidecar.bundle import JudgeBundle, load_bundle
from sidecar.config import JudgeConfig
from sidecar.domain import SCORE_MAX, SCORE_MIN, Role, Scores, Turn
from sidecar.textpair import EncodedBatch, PairEncoder, load_tokenizer

_log = logging.getLogger("theraguard.judge")

ORT_NAMES = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
_GPU = {"tensorrt", "cuda"}
Pair = tuple[Sequence[Turn], str]


class JudgeLoadError(RuntimeError):
    """The judge cannot start as configured; the message says why and what to change."""


class JudgeFailure(RuntimeError):
    """The session failed or returned nonsense while scoring."""


@dataclass(frozen=True)
class ProviderPlan:
    """Which providers to ask onnxruntime for, with options, and which bundle model to load."""

    providers: tuple[tuple[str, dict[str, Any]], ...]
    model_kind: str  # "gpu" (fp16) or "cpu" (int8)
    skipped: tuple[str, ...] = field(default=())  # configured but not offered by this onnxruntime build


def plan_providers(config: JudgeConfig, bundle: JudgeBundle, available: Sequence[str]) -> ProviderPlan:
    """Decide providers and model from the configured order and what this onnxruntime offers."""
    usable = [p for p in config.providers if ORT_NAMES[p] in available]
    skipped = tuple(p for p in config.providers if p not in usable)
    gpu = [p for p in usable if p in _GPU]
    if gpu and bundle.manifest.models.gpu is None:
        if config.require_gpu:
            raise JudgeLoadError(
                f"judge.require_gpu is true and {', '.join(gpu)} is available, but the bundle {bundle.directory} "
                f"has no fp16 GPU model: build it with `python -m export fp16 --bundle {bundle.directory}`"
            )
        _log.warning("gpu_model_missing", extra={"providers": gpu, "bundle": str(bundle.directory)})
        gpu = []
        usable = [p for p in usable if p not in _GPU]
    if not gpu:
        if config.require_gpu:
            raise JudgeLoadError(
                "judge.require_gpu is true but this onnxruntime offers no GPU provider "
                f"(available: {', '.join(available)}); install onnxruntime-gpu with CUDA/TensorRT, "
                "or set judge.require_gpu: false to allow the CPU"
            )
        if "cpu" not in usable:
            raise JudgeLoadError(
                f"none of judge.providers {list(config.providers)} is available (onnxruntime offers: "
                f"{', '.join(available)}); add cpu to judge.providers"
            )
    providers: list[tuple[str, dict[str, Any]]] = []
    for name in usable:
        providers.append((ORT_NAMES[name], _provider_options(name, config, bundle)))
    if gpu and "cpu" not in usable:
        # onnxruntime places nodes a GPU provider cannot take on the CPU anyway; say so explicitly.
        providers.append((ORT_NAMES["cpu"], {}))
    return ProviderPlan(tuple(providers), "gpu" if gpu else "cpu", skipped)


def _provider_options(name: str, config: JudgeConfig, bundle: JudgeBundle) -> dict[str, Any]:
    if name == "tensorrt":
        trt = bundle.manifest.tensorrt
        cache = str(config.tensorrt_cache_dir)

        def shapes(shape: tuple[int, int]) -> str:
            return ",".join(f"{inp}:{shape[0]}x{shape[1]}" for inp in bundle.manifest.inputs)

        return {
            "trt_fp16_enable": trt.fp16,
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": cache,
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": cache,
            "trt_profile_min_shapes": shapes(trt.profile.min),
            "trt_profile_opt_shapes": shapes(trt.profile.opt),
            "trt_profile_max_shapes": shapes(trt.profile.max),
        }
    return {}


class Judge:
    """Scores (context, reply) pairs with the bundle's ONNX model. ``score_batch`` is synchronous."""

    def __init__(
        self, bundle: JudgeBundle, config: JudgeConfig, available: Sequence[str] | None = None
    ) -> None:
        self.bundle = bundle
        self.version = f"{bundle.manifest.name}@{bundle.manifest.version}"
        self.plan = plan_providers(config, bundle, available or ort.get_available_providers())
        if "tensorrt" in config.providers and self.plan.model_kind == "gpu":
            config.tensorrt_cache_dir.mkdir(parents=True, exist_ok=True)
            max_batch = bundle.manifest.tensorrt.profile.max[0]
            if config.batching.max_batch_size > max_batch:
                raise JudgeLoadError(
                    f"judge.batching.max_batch_size ({config.batching.max_batch_size}) exceeds the bundle's "
                    f"TensorRT profile max batch ({max_batch}); lower it or rebuild the bundle's profile"
                )
        self._min_seq = bundle.manifest.tensorrt.profile.min[1] if self.plan.model_kind == "gpu" else 0
        # rows x seq^2 per session run. GPU: whole batches, the TensorRT profile bounds them. CPU: one row
        # per run. The int8 model quantizes activations dynamically, with one scale per run, so batch-mates
        # moved a reply's scores by up to ~0.9 (mean 0.09) on the probe set: a verdict must not depend on
        # concurrent traffic. On 2 cores per-row runs were as fast as batched ones (no padding either).
        if self.plan.model_kind == "gpu":
            self._attention_budget = config.batching.max_batch_size * bundle.max_length**2
        else:
            self._attention_budget = 0
        tokenizer = load_tokenizer(str(bundle.tokenizer_path))
        self.encoder = PairEncoder(tokenizer, bundle.max_length)
        self._pad_id = tokenizer.token_to_id("[PAD]") or 0
        model = bundle.model_path(self.plan.model_kind)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = config.intra_op_threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # onnxruntime's own warnings go to stderr unstructured
        # Idle intra-op threads spinning would steal cores from the event loop and the tokenizer.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if self.plan.model_kind == "cpu":
            # Every call has its own sequence length, so cached memory patterns never repeat; they only
            # pile up (~+45 MB RSS measured). The arena alone serves the varying shapes.
            options.enable_mem_pattern = False
        try:
            self._session = ort.InferenceSession(
                str(model), sess_options=options, providers=[p for p, _ in self.plan.providers],
                provider_options=[o for _, o in self.plan.providers],
            )  # fmt: skip
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own, unexported exception types
            raise JudgeLoadError(f"cannot load the judge model {model}: {err}") from None
        self.provider = self._session.get_providers()[0]
        if config.require_gpu and self.provider == ORT_NAMES["cpu"]:
            raise JudgeLoadError(
                f"judge.require_gpu is true but onnxruntime fell back to the CPU for {model} "
                f"(asked for {[p for p, _ in self.plan.providers]}); check the CUDA/TensorRT installation "
                "and the onnxruntime log above"
            )
        inputs = [i.name for i in self._session.get_inputs()]
        if tuple(inputs) != tuple(bundle.manifest.inputs):
            raise JudgeLoadError(
                f"{model}: graph inputs {inputs} differ from the manifest's {list(bundle.manifest.inputs)}"
            )
        _log.info(
            "judge_loaded",
            extra={
                "judge": self.version,
                "model": str(model),
                "provider": self.provider,
                "providers_requested": [p for p, _ in self.plan.providers],
                "providers_skipped": list(self.plan.skipped),
            },
        )

    @classmethod
    def load(cls, config: JudgeConfig) -> Judge:
        """Load and verify the bundle (BundleError on mismatch), then open the session."""
        return cls(load_bundle(config.bundle), config)

    @property
    def model_path(self) -> Path:
        return self.bundle.model_path(self.plan.model_kind)

    def encode(self, pairs: Sequence[Pair]) -> EncodedBatch:
        return self.encoder.encode(pairs)

    def run(self, batch: EncodedBatch) -> np.ndarray:
        """Run the model on an encoded batch; float32 [batch, 7] clipped to the 1-5 scale.

        Rows are sorted by length and run in chunks of at most ``rows x seq^2 <= attention budget``
        (one row per run on CPU): attention memory grows with batch x seq^2 (a batch of 32 at 256 tokens
        needs ~100 MB per layer), and short rows no longer pay for the padding of the longest one.
        """
        lengths = batch.attention_mask.sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        out = np.empty((len(order), len(self.bundle.dimensions)), dtype=np.float32)
        for rows in self._chunks(lengths[order]):
            index = order[rows]
            seq = max(int(lengths[index].max()), self._min_seq)
            out[index] = self._run_rows(batch, index, seq)
        return out

    def _chunks(self, sorted_lengths: np.ndarray) -> list[slice]:
        """Consecutive slices of the length-sorted rows, each within the attention budget (at least one row)."""
        chunks, start = [], 0
        for end in range(1, len(sorted_lengths) + 1):
            seq = int(sorted_lengths[end - 1])  # sorted: the last row is the longest
            if end - start > 1 and (end - start) * seq * seq > self._attention_budget:
                chunks.append(slice(start, end - 1))
                start = end - 1
        chunks.append(slice(start, len(sorted_lengths)))
        return chunks

    def _run_rows(self, batch: EncodedBatch, index: np.ndarray, seq: int) -> np.ndarray:
        feeds = {}
        for name in ("input_ids", "attention_mask", "token_type_ids"):
            rows = getattr(batch, name)[index, :seq]
            if rows.shape[1] < seq:  # TensorRT profile lower bound: pad with masked-out columns
                fill = self._pad_id if name == "input_ids" else 0
                rows = np.pad(rows, ((0, 0), (0, seq - rows.shape[1])), constant_values=fill)
            feeds[name] = np.ascontiguousarray(rows)
        try:
            (scores,) = self._session.run(["scores"], feeds)
        except Exception as err:
            raise JudgeFailure(f"onnxruntime failed: {type(err).__name__}") from err
        if not np.isfinite(scores).all():
            raise JudgeFailure("the judge returned non-finite scores")
        return np.clip(scores.astype(np.float32, copy=False), SCORE_MIN, SCORE_MAX)

    def score_batch(self, pairs: Sequence[Pair]) -> list[Scores]:
        """Encode (one tokenizer call) and score pairs."""
        out = self.run(self.encode(pairs))
        return [Scores(tuple(float(v) for v in row)) for row in out]

    def warm_up(self, max_batch: int) -> float:
        """Run representative shapes once (allocator arenas, TensorRT engines); return seconds taken."""
        started = time.perf_counter()
        context = (Turn(Role.USER, "I have not slept properly for weeks and I feel on edge all the time."),)
        reply = "That sounds exhausting. What do you think has been keeping you awake?"
        for size in sorted({1, max_batch}):
            self.score_batch([(context, reply)] * size)
        taken = time.perf_counter() - started
        _log.info("judge_warmed", extra={"seconds": round(taken, 3), "provider": self.provider})
        return taken
