"""int8 (CPU, onnxruntime dynamic quantization) and fp16 (GPU) variants of the fp32 ONNX judge."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from export.errors import ExportError

INT8_MODEL = "judge.int8.onnx"
FP16_MODEL = "judge.fp16.onnx"
QUANTIZE_CONFIG = "quantize_config.json"
FP16_CONFIG = "fp16_config.json"


def _require(path: Path) -> None:
    if not path.is_file():
        raise ExportError(f"{path} does not exist; run `python -m export onnx` first")


# Block-wise rather than per-tensor: the FFN down-projections of the three lowest layers. A sensitivity
# sweep on the default judge (one group of MatMuls left in float at a time, 400 held-out rows) showed
# these carry most of the int8 error: their inputs (GELU outputs of the frozen MiniLM layers) have the
# widest ranges of the network, which one dynamic scale per tensor serves badly. Float32 there cost
# 5 MB; 8-bit weights and activations in blocks of 32 (MatMulNBits, accuracy level 4) keep almost all
# of that accuracy at int8 size and speed (two-seed ensemble, 300 hand-written rows: mean |delta| vs
# fp32 0.0295 against 0.0285 in float32 and 0.0424 per-tensor; 28.9 MB against 34.0 MB).
DEFAULT_BLOCKWISE: tuple[str, ...] = (
    "/bert/encoder/layer.0/output/dense/",
    "/bert/encoder/layer.1/output/dense/",
    "/bert/encoder/layer.2/output/dense/",
)
BLOCK_SIZE = 32
ACCURACY_LEVEL = 4  # int8 compute with block-wise activation scales (MatMulNBits)


def _nbits_quantizer():
    """MatMulNBitsQuantizer, without what its module does on import: logging.basicConfig(level=INFO) on
    the root logger, which would print thousands of lines per quantization run."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger(MatMulNBitsQuantizer.__module__).setLevel(logging.WARNING)
    return MatMulNBitsQuantizer


def quantize_int8(
    fp32_model: str | Path, out_dir: str | Path, per_channel: bool = True, blockwise: tuple[str, ...] = DEFAULT_BLOCKWISE
) -> Path:
    """int8 for CPU: dynamic quantization, block-wise for the sensitive MatMuls; returns the path.

    MatMul and Gather (the word embeddings) are quantized dynamically (weights int8, activations at run
    time): Gather is what brings the file under 30 MB. Per-channel weight scales keep the int8 scores
    close to fp32 (checked in the validation report). MatMul nodes whose names start with one of
    ``blockwise`` become MatMulNBits with 8-bit weights and activations in blocks of ``BLOCK_SIZE``.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src = Path(fp32_model)
    _require(src)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pre = out / "judge.fp32.preprocessed.onnx"
    # Shape inference + graph clean-up first, as onnxruntime recommends before quantizing.
    quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
    path = out / INT8_MODEL
    op_types = ["MatMul", "Gather"]
    nodes = onnx.load(str(pre), load_external_data=False).graph.node
    sensitive = [n.name for n in nodes if n.op_type == "MatMul" and any(n.name.startswith(p) for p in blockwise)]
    quantize_dynamic(
        str(pre), str(path), weight_type=QuantType.QInt8, per_channel=per_channel, op_types_to_quantize=op_types,
        nodes_to_exclude=sensitive,
    )  # fmt: skip
    pre.unlink()
    if sensitive:
        block = _nbits_quantizer()(
            onnx.load(str(path)), bits=8, block_size=BLOCK_SIZE, is_symmetric=True, accuracy_level=ACCURACY_LEVEL,
            nodes_to_include=sensitive,
        )  # fmt: skip
        block.process()
        block.model.save_model_to_file(str(path), False)
    (out / QUANTIZE_CONFIG).write_text(
        json.dumps(
            {
                "stage": "quantize",
                "source": str(src),
                "method": "onnxruntime.quantization.quantize_dynamic",
                "weight_type": "QInt8",
                "per_channel": per_channel,
                "op_types_to_quantize": op_types,
                "nodes_blockwise": sensitive,
                "blockwise": {
                    "method": "onnxruntime.quantization.matmul_nbits_quantizer.MatMulNBitsQuantizer",
                    "bits": 8,
                    "block_size": BLOCK_SIZE,
                    "symmetric": True,
                    "accuracy_level": ACCURACY_LEVEL,
                },
                "preprocess": "onnxruntime.quantization.shape_inference.quant_pre_process",
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return path


def convert_fp16(fp32_model: str | Path, out_dir: str | Path) -> Path:
    """fp16 weights and compute for GPU (CUDA / TensorRT), float32 inputs/outputs kept; returns the path."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    src = Path(fp32_model)
    _require(src)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / FP16_MODEL
    # Softmax and the expected-score sum stay float32: fp16 rounding there would move scores by ~0.01.
    keep = ["Softmax", "ReduceSum"]
    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True, op_block_list=keep)
    onnx.save(model, str(path))
    (out / FP16_CONFIG).write_text(
        json.dumps(
            {
                "stage": "fp16",
                "source": str(src),
                "method": "onnxruntime.transformers.float16.convert_float_to_float16",
                "keep_io_types": True,
                "op_block_list": keep,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return path
