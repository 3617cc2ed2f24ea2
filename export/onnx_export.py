"""ONNX export of the student with optimum (optimum-onnx), dynamic batch and sequence axes.

optimum exports the whole student, head included: the student is a ``BertPreTrainedModel`` whose
forward returns ``scores`` and ``probs``, and ``JudgeOnnxConfig`` (optimum's BERT config with those
two outputs) tells optimum what to name and keep. No folding of a separate head was needed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from export.errors import ExportError
from sidecar.bundle import INPUT_NAMES, OUTPUT_NAMES
from sidecar.domain import DIMENSIONS

FP32_MODEL = "judge.fp32.onnx"
EXPORT_CONFIG = "export_config.json"
DEFAULT_OPSET = 17  # native LayerNormalization; what TensorRT and ORT's fp16 converter handle well


def _onnx_config_class():
    from optimum.exporters.onnx.model_configs import BertOnnxConfig

    class JudgeOnnxConfig(BertOnnxConfig):
        """optimum's BERT inputs (input_ids, attention_mask, token_type_ids) with the judge's outputs."""

        @property
        def outputs(self) -> dict[str, dict[int, str]]:
            return {"scores": {0: "batch_size"}, "probs": {0: "batch_size"}}

    return JudgeOnnxConfig


def export_onnx(student_dir: str | Path, out_dir: str | Path, opset: int = DEFAULT_OPSET) -> Path:
    """Export the student to ``out_dir/judge.fp32.onnx``; returns its path.

    Output shapes are pinned to [batch, 7] and [batch, 7, 5] (optimum leaves the fixed axes symbolic).
    """
    import onnx
    import torch
    import transformers
    from optimum.exporters.onnx import export

    from export.distill import load_student

    transformers.logging.set_verbosity_error()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if opset < 14:
        raise ExportError(f"opset must be >= 14 (got: {opset})")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / FP32_MODEL
    model = load_student(student_dir)
    config = _onnx_config_class()(model.config, task="feature-extraction")
    with torch.inference_mode():
        inputs, outputs = export(model, config, path, opset=opset)
    if tuple(inputs) != INPUT_NAMES or tuple(outputs) != OUTPUT_NAMES:
        raise ExportError(f"exported graph names {inputs} -> {outputs}, expected {INPUT_NAMES} -> {OUTPUT_NAMES}")

    graph = onnx.load(str(path))
    fixed = {"scores": (len(DIMENSIONS),), "probs": (len(DIMENSIONS), 5)}
    for output in graph.graph.output:
        dims = output.type.tensor_type.shape.dim
        for axis, size in enumerate(fixed[output.name], start=1):
            dims[axis].ClearField("dim_param")
            dims[axis].dim_value = size
    graph.doc_string = "TheraGuard judge student: scores [batch,7] on 1-5, probs [batch,7,5]; dims " + ",".join(DIMENSIONS)
    onnx.checker.check_model(graph)
    onnx.save(graph, str(path))
    (out / EXPORT_CONFIG).write_text(
        json.dumps(
            {
                "stage": "onnx",
                "exporter": "optimum.exporters.onnx.export (TorchScript)",
                "student_dir": str(student_dir),
                "opset": opset,
                "inputs": list(INPUT_NAMES),
                "outputs": list(OUTPUT_NAMES),
                "dynamic_axes": {"batch_size": 0, "sequence_length": 1},
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return path
