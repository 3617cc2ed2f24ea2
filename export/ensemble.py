"""Fuse students distilled with different seeds into one ensemble student with a shared bottom.

Students distilled from the same backbone with frozen embeddings and lower layers carry those weights
unchanged, so an ensemble needs them once: the fused student runs the shared part once and each
member's trained upper layers and head on its output (``JudgeStudent`` with ``judge_members`` > 1).
Averaging two seeds measurably helped on text no recipe was tuned on (README, "What the default judge
measures") for about half again the time of one student, not twice.

The fused directory is a student directory like any other (config.json, model.safetensors, tokenizer,
teacher labels, distill_config.json), so ``onnx``, ``quantize``, ``validate`` and ``bundle`` take it as is.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from export.distill import STUDENT_CONFIG, TEACHER_LABELS, TOKENIZER_FILE
from export.errors import ExportError
from sidecar.bundle import sha256_file

WEIGHTS = "model.safetensors"
# Shared weights may differ by float rounding when members were saved on different machines.
SHARED_TOLERANCE = 1e-6


def _shared_prefixes(shared_layers: int) -> tuple[str, ...]:
    return ("bert.embeddings.",) + tuple(f"bert.encoder.layer.{i}." for i in range(shared_layers))


def _member_record(member: Path) -> dict[str, Any]:
    info_file = member / STUDENT_CONFIG
    for needed in ("config.json", WEIGHTS, TOKENIZER_FILE, TEACHER_LABELS, STUDENT_CONFIG):
        if not (member / needed).is_file():
            raise ExportError(f"{member} is not a distilled student (no {needed}); run `python -m export distill` first")
    info = json.loads(info_file.read_text(encoding="utf-8"))
    if info.get("members"):
        raise ExportError(f"{member} is already an ensemble; fuse the students it was made from")
    return info


def _member_summary(path: Path, info: dict[str, Any]) -> dict[str, Any]:
    return {
        "dir": str(path),
        "seed": info["config"]["seed"],
        "steps": info["steps"],
        "seconds": info["seconds"],
        "final_loss": info.get("final_loss"),
        "backbone": info.get("backbone"),
        "weights_sha256": sha256_file(path / WEIGHTS),
    }


def fuse_students(members: Sequence[str | Path], out_dir: str | Path) -> Path:
    """Write the ensemble of ``members`` (student directories) to ``out_dir``; returns it.

    The members must share the corpus, the teacher, the tokenizer, the architecture and their frozen
    weights (embeddings and the lowest ``freeze_layers`` layers); anything else is a clear error.
    """
    from safetensors.torch import load_file, save_file
    from transformers import BertConfig

    paths = [Path(m) for m in members]
    if len(paths) < 2:
        raise ExportError(f"an ensemble needs at least two students (got: {len(paths)})")
    infos = [_member_record(p) for p in paths]
    first, first_info = paths[0], infos[0]
    shared_layers = int(first_info["config"]["freeze_layers"])
    for path, info in zip(paths, infos):
        if not info["config"].get("freeze_embeddings", False):
            raise ExportError(f"{path}: members must be distilled with frozen embeddings to share them")
    for path, info in zip(paths[1:], infos[1:]):
        cfg = info["config"]
        if int(cfg["freeze_layers"]) != shared_layers:
            raise ExportError(
                f"{path} froze {cfg['freeze_layers']} layers, {first} froze {shared_layers}: members must freeze the same layers"
            )
        if info["corpus"].get("sha256") != first_info["corpus"].get("sha256"):
            raise ExportError(f"{path} was trained on another corpus than {first}; distill both on one corpus.jsonl")
        if info["teacher"] != first_info["teacher"]:
            raise ExportError(f"{path} was distilled from another teacher than {first} ({info['teacher']['name']})")
        if sha256_file(path / TOKENIZER_FILE) != sha256_file(first / TOKENIZER_FILE):
            raise ExportError(f"{path} has another tokenizer than {first}")
    configs = [BertConfig.from_pretrained(p) for p in paths]
    keys = ("hidden_size", "num_hidden_layers", "intermediate_size", "num_attention_heads", "judge_pooling")
    for path, config in zip(paths[1:], configs[1:]):
        for key in keys:
            if getattr(config, key, None) != getattr(configs[0], key, None):
                raise ExportError(f"{path} differs from {first} in {key}; members must share the architecture")

    weights = [load_file(str(p / WEIGHTS)) for p in paths]
    prefixes = _shared_prefixes(shared_layers)
    fused = dict(weights[0])
    for index, (path, member) in enumerate(zip(paths[1:], weights[1:])):
        for name, tensor in member.items():
            if name.startswith(prefixes):
                gap = (tensor.float() - weights[0][name].float()).abs().max().item()
                if gap > SHARED_TOLERANCE:
                    raise ExportError(
                        f"{path}: frozen weight {name} differs from {first} by {gap:.2e}; members must start "
                        "from the same backbone"
                    )
            elif name.startswith("bert.encoder.layer."):
                layer, rest = name.removeprefix("bert.encoder.layer.").split(".", 1)
                fused[f"branches.{index}.layers.{int(layer) - shared_layers}.{rest}"] = tensor
            elif name.startswith("head."):
                fused[f"branches.{index}.{name}"] = tensor
            else:
                raise ExportError(f"{path}: unexpected weight {name}; not a TheraGuard student")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = configs[0]
    config.judge_members = len(paths)
    config.judge_shared_layers = shared_layers
    config.save_pretrained(out)
    save_file({k: v.contiguous() for k, v in fused.items()}, str(out / WEIGHTS), metadata={"format": "pt"})
    shutil.copyfile(first / TOKENIZER_FILE, out / TOKENIZER_FILE)
    # The teacher's labels of one corpus are the same for every member; validation reads them from here.
    shutil.copyfile(first / TEACHER_LABELS, out / TEACHER_LABELS)
    written = {
        **{k: v for k, v in first_info.items() if k not in ("seconds", "seconds_per_step", "final_loss", "init_from")},
        "stage": "fuse",
        "steps": sum(int(i["steps"]) for i in infos),
        "seconds": round(sum(float(i["seconds"]) for i in infos), 1),
        "members": [_member_summary(p, i) for p, i in zip(paths, infos)],
        "shared_layers": shared_layers,
    }
    (out / STUDENT_CONFIG).write_text(json.dumps(written, indent=2) + "\n", encoding="utf-8")
    return out
