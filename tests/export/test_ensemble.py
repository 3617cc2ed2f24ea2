"""Fusing seeds into one ensemble student: the same scores as averaging the members, and clear refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from pipeline_harness import SMALL_MAX_LENGTH, PipelineRun

from export.cli import main
from export.dataset import read_corpus
from export.errors import ExportError
from export.pipeline import DefaultBuild
from sidecar.textpair import PairEncoder, load_tokenizer

pytestmark = pytest.mark.slow


def _outputs(student: Path, corpus: Path):
    import torch

    from export.distill import load_student

    rows = read_corpus(corpus)[:16]
    encoder = PairEncoder(load_tokenizer(str(student / "tokenizer.json")), SMALL_MAX_LENGTH)
    batch = encoder.encode([r.pair for r in rows])
    feed = {
        "input_ids": torch.from_numpy(batch.input_ids),
        "attention_mask": torch.from_numpy(batch.attention_mask),
        "token_type_ids": torch.from_numpy(batch.token_type_ids),
    }
    with torch.inference_mode():
        out = load_student(student)(**feed)
    return out.scores.numpy(), out.probs.numpy()


def test_the_ensemble_averages_its_members(pipeline_run: PipelineRun) -> None:
    (scores, probs), members = _outputs(pipeline_run.student, pipeline_run.corpus), pipeline_run.members
    member_outputs = [_outputs(m, pipeline_run.corpus) for m in members]
    assert np.abs(probs - np.mean([p for _, p in member_outputs], axis=0)).max() < 1e-5
    assert np.abs(scores - np.mean([s for s, _ in member_outputs], axis=0)).max() < 1e-4
    # Two seeds give two different students: the average is not one of them.
    assert np.abs(member_outputs[0][0] - member_outputs[1][0]).max() > 1e-3
    info = json.loads((pipeline_run.student / "distill_config.json").read_text())
    assert info["stage"] == "fuse" and [m["seed"] for m in info["members"]] == [13, 7]
    assert info["steps"] == sum(m["steps"] for m in info["members"])


def _copy(member: Path, dest: Path) -> Path:
    shutil.copytree(member, dest)
    return dest


def _edit_info(student: Path, edit) -> None:
    path = student / "distill_config.json"
    info = json.loads(path.read_text())
    edit(info)
    path.write_text(json.dumps(info))


def test_members_must_share_what_the_ensemble_shares(pipeline_run: PipelineRun, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    from export.ensemble import fuse_students

    first, second = pipeline_run.members
    with pytest.raises(ExportError, match="at least two students"):
        fuse_students([first], tmp_path / "one")
    with pytest.raises(ExportError, match=r"not a distilled student \(no config.json\)"):
        fuse_students([first, tmp_path], tmp_path / "empty")

    other_layers = _copy(second, tmp_path / "layers")
    _edit_info(other_layers, lambda info: info["config"].update(freeze_layers=2))
    with pytest.raises(ExportError, match="froze 2 layers"):
        fuse_students([first, other_layers], tmp_path / "out1")

    other_corpus = _copy(second, tmp_path / "corpus")
    _edit_info(other_corpus, lambda info: info["corpus"].update(sha256="0" * 64))
    with pytest.raises(ExportError, match="another corpus"):
        fuse_students([first, other_corpus], tmp_path / "out2")

    # A member whose frozen weights moved (trained from another backbone) cannot share them.
    moved = _copy(second, tmp_path / "moved")
    weights = load_file(str(moved / "model.safetensors"))
    weights["bert.encoder.layer.1.output.dense.weight"] += 0.01
    save_file(weights, str(moved / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(ExportError, match=r"frozen weight bert.encoder.layer.1.output.dense.weight differs"):
        fuse_students([first, moved], tmp_path / "out3")

    with pytest.raises(ExportError, match="already an ensemble"):
        fuse_students([pipeline_run.student, first], tmp_path / "out4")


def test_fuse_from_the_command_line(pipeline_run: PipelineRun, tmp_path: Path, capsys) -> None:
    out = tmp_path / "fused"
    assert main(["fuse", *map(str, pipeline_run.members), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert (out / "model.safetensors").read_bytes() == (pipeline_run.student / "model.safetensors").read_bytes()
    assert main(["fuse", str(pipeline_run.members[0]), "--out", str(tmp_path / "bad")]) == 2
    assert "at least two students" in capsys.readouterr().err


def test_member_seeds_must_differ() -> None:
    with pytest.raises(ExportError, match="different seeds"):
        DefaultBuild(member_seeds=(7, 7))
    with pytest.raises(ExportError, match="different seeds"):
        DefaultBuild(member_seeds=())


def test_default_builds_the_ensemble_bundle_from_one_command(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    """`python -m export default` as `make judge` runs it, shrunk: two seeds, fused, exported, bundled."""
    from sidecar.bundle import load_bundle

    out, work = tmp_path / "bundle", tmp_path / "work"
    argv = ["default", "--corpus", str(tiny_corpus), "--out", str(out), "--work", str(work), "--max-steps", "4",
            "--max-length", str(SMALL_MAX_LENGTH), "--member-seeds", "13", "7", "--version", "0.0-test"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.strip() == str(out)
    bundle = load_bundle(out)
    assert bundle.manifest.version == "0.0-test"
    assert [m["seed"] for m in bundle.manifest.build["ensemble"]["members"]] == [13, 7]
    for seed in (13, 7):
        assert (work / f"student_seed{seed}" / "model.safetensors").is_file()
    info = json.loads((work / "student" / "distill_config.json").read_text())
    assert info["stage"] == "fuse" and info["config"]["max_length"] == SMALL_MAX_LENGTH
