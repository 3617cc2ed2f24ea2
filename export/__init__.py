"""Offline judge export: corpus -> teacher -> student -> ONNX -> int8/fp16 -> validation -> bundle.

Heavy dependencies (torch, transformers, optimum) live in the ``export`` extra; the sidecar never
imports this package.
"""
