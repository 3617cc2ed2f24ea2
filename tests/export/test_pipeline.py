"""The full export pipeline on a small slice: structure of every stage's output and parity within tolerances."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from pipeline_harness import SMALL_MAX_LENGTH, PipelineRun

from export.dataset import read_corpus
from export.encoding import encode_rows, pair_encoder
from sidecar.bundle import INPUT_NAMES, OUTPUT_NAMES, MANIFEST_FILE, load_bundle, sha256_file
from sidecar.domain import DIMENSIONS
from sidecar.textpair import PairEncoder, load_tokenizer

pytestmark = pytest.mark.slow


def _ops(path: Path) -> Counter:
    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def test_fp32_graph_names_axes_and_opset(pipeline_run: PipelineRun) -> None:
    model = onnx.load(str(pipeline_run.fp32))
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == list(INPUT_NAMES)
    assert [o.name for o in model.graph.output] == list(OUTPUT_NAMES)
    assert {o.domain or "ai.onnx": o.version for o in model.opset_import}["ai.onnx"] == 17
    for graph_input in model.graph.input:
        dims = graph_input.type.tensor_type.shape.dim
        assert [d.dim_param for d in dims] == ["batch_size", "sequence_length"]  # dynamic batch and sequence
    out_dims = {o.name: [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in model.graph.output}
    assert out_dims == {"scores": ["batch_size", 7], "probs": ["batch_size", 7, 5]}


def test_int8_is_quantized_and_small(pipeline_run: PipelineRun) -> None:
    ops = _ops(pipeline_run.int8)
    # The weight MatMuls of the 6 shared-path layers and the second member's 3 upper layers, but for the 3
    # sensitive ones, which are block-wise 8-bit instead.
    assert ops["MatMulInteger"] >= 51
    assert ops["MatMulNBits"] == 3
    assert ops["DynamicQuantizeLinear"] > 0
    assert ops["MatMul"] <= 18  # attention's activation x activation products only
    config = json.loads((pipeline_run.int8.parent / "quantize_config.json").read_text())
    assert sum(n.endswith("/MatMul") for n in config["nodes_blockwise"]) == 3
    assert pipeline_run.int8.stat().st_size < 30_000_000


def test_fp16_keeps_float32_io(pipeline_run: PipelineRun) -> None:
    model = onnx.load(str(pipeline_run.fp16))
    assert all(i.type.tensor_type.elem_type == onnx.TensorProto.INT64 for i in model.graph.input)
    assert all(o.type.tensor_type.elem_type == onnx.TensorProto.FLOAT for o in model.graph.output)
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer)


def test_variants_agree_on_fresh_rows(pipeline_run: PipelineRun) -> None:
    """Torch vs ONNX fp32 vs int8 vs fp16 on rows encoded by the sidecar's own PairEncoder."""
    import torch

    from export.distill import load_student

    rows = read_corpus(pipeline_run.corpus)[:24]
    encoder = PairEncoder(load_tokenizer(str(pipeline_run.student / "tokenizer.json")), SMALL_MAX_LENGTH)
    batch = encoder.encode([r.pair for r in rows])
    feed = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask, "token_type_ids": batch.token_type_ids}
    with torch.inference_mode():
        ref = load_student(pipeline_run.student)(**{k: torch.from_numpy(v) for k, v in feed.items()})
    out = {}
    for name, path in (("fp32", pipeline_run.fp32), ("int8", pipeline_run.int8), ("fp16", pipeline_run.fp16)):
        scores, probs = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feed)
        assert scores.shape == (24, 7) and probs.shape == (24, 7, 5)
        assert np.allclose(probs.sum(-1), 1.0, atol=1e-3)
        assert np.all((scores >= 1.0) & (scores <= 5.0))
        out[name] = scores
    assert np.abs(out["fp32"] - ref.scores.numpy()).max() < 1e-3
    assert np.abs(out["int8"] - out["fp32"]).mean() < 0.05
    assert np.abs(out["fp16"] - out["fp32"]).max() < 0.02
    # scores are the expected level of probs, computed in the graph
    assert np.allclose(out["fp32"], (ref.probs.numpy() * np.arange(1, 6)).sum(-1), atol=1e-4)


def test_batch_and_padding_do_not_change_scores(pipeline_run: PipelineRun) -> None:
    rows = read_corpus(pipeline_run.corpus)[:8]
    encoder = pair_encoder(pipeline_run.student / "tokenizer.json", SMALL_MAX_LENGTH)
    session = ort.InferenceSession(str(pipeline_run.fp32), providers=["CPUExecutionProvider"])
    encoded = encode_rows(encoder, rows)
    together = session.run(["scores"], _feed(encoded.batch(list(range(8)))))[0]
    alone = np.concatenate([session.run(["scores"], _feed(encoded.batch([i])))[0] for i in range(8)])
    assert np.abs(together - alone).max() < 1e-4


def _feed(batch) -> dict[str, np.ndarray]:
    return {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask, "token_type_ids": batch.token_type_ids}


def test_validation_report_and_metrics(pipeline_run: PipelineRun) -> None:
    result = pipeline_run.validation
    report = result.report.read_text(encoding="utf-8")
    for section in ("## Quality bar", "## Student vs teacher", "## ONNX parity", "## Latency", "## Recommended thresholds",
                    "## Hand-written held-out rows", "## Probe set", "## Training"):  # fmt: skip
        assert section in report
    for dim in DIMENSIONS:
        assert f"| {dim} |" in report
    metrics = result.metrics
    assert metrics["parity"]["onnx_fp32_vs_torch_scores"]["max"] < 1e-3
    assert metrics["parity"]["int8_vs_fp32_scores"]["mean"] < 0.05
    assert set(metrics["latency_ms"]) == {f"{v}/b{b}" for v in ("torch", "onnx_fp32", "onnx_int8") for b in (1, 32)}
    assert metrics["probes"]["at_recommended"]["n"] >= 60
    authored = metrics["authored_heldout"]  # the tiny corpus tags every third row source:authored
    assert authored is not None and authored["rows"] == sum(1 for line in pipeline_run.corpus.read_text().splitlines()
                                   if '"heldout"' in line and "source:authored" in line)  # fmt: skip
    assert list(authored["agreement_int8"]) == list(DIMENSIONS)
    assert set(result.thresholds) == set(DIMENSIONS)
    assert all(1.0 <= t <= 5.0 for t in result.thresholds.values())
    assert metrics["thresholds_from"] == "held-out split"  # too few hand-written held-out rows in the tiny corpus
    assert "Chosen on the held-out split" in report
    for name in ("scatter", "confusion", "calibration", "safety_threshold"):
        png = result.out_dir / "plots" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bundle_manifest_and_hashes(pipeline_run: PipelineRun) -> None:
    bundle = load_bundle(pipeline_run.bundle)
    m = bundle.manifest
    assert m.dimensions == DIMENSIONS and m.max_length == SMALL_MAX_LENGTH
    assert m.models.cpu == "judge.int8.onnx" and m.models.gpu is None and m.models.fp32 is None
    assert m.tensorrt.profile.max == (64, SMALL_MAX_LENGTH)
    expected = {"judge.int8.onnx", "tokenizer.json", "REPORT.md", "plots/scatter.png", "plots/confusion.png",
                "plots/calibration.png", "plots/safety_threshold.png"}  # fmt: skip
    assert set(m.files) == expected
    for rel, digest in m.files.items():
        assert sha256_file(pipeline_run.bundle / rel) == digest
    assert m.build["fp32_sha256"] == sha256_file(pipeline_run.fp32)
    assert set(m.recommended_thresholds) == set(DIMENSIONS)
    assert m.teacher["kind"] == "construction"
    assert m.corpus["sha256"] == sha256_file(pipeline_run.corpus)
    ensemble = m.build["ensemble"]
    assert ensemble["shared_layers"] == 3 and [e["seed"] for e in ensemble["members"]] == [13, 7]
    assert [e["weights_sha256"] for e in ensemble["members"]] == [
        sha256_file(member / "model.safetensors") for member in pipeline_run.members
    ]
    # The runtime's view: the bundle's tokenizer and int8 model score a pair.
    encoder = PairEncoder(load_tokenizer(str(bundle.tokenizer_path)), m.max_length)
    session = ort.InferenceSession(str(bundle.model_path("cpu")), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(m.inputs)
    assert [o.name for o in session.get_outputs()] == list(m.outputs)
    scores = session.run(["scores"], _feed(encoder.encode([read_corpus(pipeline_run.corpus)[0].pair])))[0]
    assert scores.shape == (1, 7)
    json.loads((pipeline_run.bundle / MANIFEST_FILE).read_text())  # plain JSON


def test_fp16_added_to_bundle_on_demand(pipeline_run: PipelineRun, tmp_path: Path) -> None:
    import shutil

    from export.pipeline import add_fp16_to_bundle

    copy = tmp_path / "bundle"
    shutil.copytree(pipeline_run.bundle, copy)
    add_fp16_to_bundle(copy, pipeline_run.fp32)
    bundle = load_bundle(copy)
    assert bundle.model_path("gpu").name == "judge.fp16.onnx"
    assert bundle.manifest.files["judge.fp16.onnx"] == sha256_file(copy / "judge.fp16.onnx")
    assert not (copy / ".fp16-staging").exists()


def test_fp16_refuses_a_different_fp32(pipeline_run: PipelineRun, tmp_path: Path) -> None:
    import shutil

    from export.errors import ExportError
    from export.pipeline import add_fp16_to_bundle

    copy = tmp_path / "bundle"
    shutil.copytree(pipeline_run.bundle, copy)
    other = tmp_path / "other.onnx"
    other.write_bytes(pipeline_run.fp32.read_bytes() + b"\x00")
    with pytest.raises(ExportError, match=r"is not the model .* was built from"):
        add_fp16_to_bundle(copy, other)


def test_failed_bundle_leaves_nothing_valid(pipeline_run: PipelineRun, tmp_path: Path) -> None:
    from export.errors import ExportError
    from export.pipeline import bundle_stage

    target = tmp_path / "judge"
    with pytest.raises(ExportError, match=r"does not exist"):
        bundle_stage(pipeline_run.student, tmp_path / "missing.int8.onnx", pipeline_run.validation, target)
    assert not target.exists()
    assert not list(tmp_path.glob(".judge.tmp-*"))


def test_rebuilding_replaces_the_bundle_atomically(pipeline_run: PipelineRun, tmp_path: Path) -> None:
    from export.pipeline import bundle_stage

    target = tmp_path / "judge"
    bundle_stage(pipeline_run.student, pipeline_run.int8, pipeline_run.validation, target, version="a")
    bundle_stage(pipeline_run.student, pipeline_run.int8, pipeline_run.validation, target, version="b")
    assert load_bundle(target).manifest.version == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["judge"]


def test_distillation_is_reproducible(tiny_corpus: Path, tmp_path: Path) -> None:
    import torch

    from export.distill import DistillConfig, distill, load_student

    config = DistillConfig(max_length=32, max_steps=3, batch_size=8, show_progress=False)
    a = load_student(distill(tiny_corpus, tmp_path / "a", config).student_dir).state_dict()
    b = load_student(distill(tiny_corpus, tmp_path / "b", config).student_dir).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = load_student(distill(tiny_corpus, tmp_path / "c", DistillConfig(**{**config.__dict__, "seed": 7})).student_dir)
    assert not torch.equal(a["head.4.weight"], c.state_dict()["head.4.weight"])


def test_fine_tuning_starts_from_the_given_student(pipeline_run: PipelineRun, tmp_path: Path) -> None:
    import torch

    from export.distill import DistillConfig, distill, load_student
    from export.errors import ExportError

    start = load_student(pipeline_run.student).state_dict()
    config = DistillConfig(max_length=32, max_steps=2, batch_size=8, lr=1e-12, head_lr=1e-12, show_progress=False,
                           init_from=str(pipeline_run.student))  # fmt: skip
    tuned = load_student(distill(pipeline_run.corpus, tmp_path / "tuned", config).student_dir).state_dict()
    # A vanishing learning rate keeps the starting student's weights, head included (a fresh head is random).
    assert all(torch.allclose(start[k], tuned[k], atol=1e-6) for k in start)
    with pytest.raises(ExportError, match=r"pools with 'mean', not 'mean_max'"):
        distill(pipeline_run.corpus, tmp_path / "x", DistillConfig(**{**config.__dict__, "pooling": "mean_max"}))


def test_mean_max_pooling_exports_with_parity(tmp_path: Path) -> None:
    """The alternative pooling (an option of `export distill --pooling`) exports and ignores padding."""
    import torch

    from export.assets import minilm_dir
    from export.onnx_export import export_onnx
    from export.student import student_from_backbone

    model = student_from_backbone(minilm_dir(), pooling="mean_max").eval()
    model.save_pretrained(tmp_path / "student")
    path = export_onnx(tmp_path / "student", tmp_path / "onnx")
    ids = torch.randint(1000, 2000, (2, 12))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    types = torch.zeros_like(ids)
    with torch.inference_mode():
        ref = model(ids, mask, types).scores.numpy()
        padded = ids.clone()
        padded[1, 7:] = 3  # different padding content must not matter
        assert np.abs(model(padded, mask, types).scores.numpy() - ref).max() == 0
    feed = {"input_ids": ids.numpy(), "attention_mask": mask.numpy(), "token_type_ids": types.numpy()}
    scores = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["scores"], feed)[0]
    assert np.abs(scores - ref).max() < 1e-4


def test_thresholds_come_from_hand_written_rows_when_there_are_enough() -> None:
    from export.validate import MIN_AUTHORED_FOR_THRESHOLDS, threshold_basis

    generated = (np.zeros((50, 7)), np.ones((50, 7)))
    n = MIN_AUTHORED_FOR_THRESHOLDS
    enough = ([object()] * n, np.full((n, 7), 2.0), np.full((n, 7), 3.0))
    label, (student, teacher) = threshold_basis(enough, *generated)
    assert label == "hand-written held-out rows" and student is enough[1] and teacher is enough[2]
    few = ([object()] * (n - 1), enough[1][1:], enough[2][1:])
    for hand in (few, None):
        label, (student, teacher) = threshold_basis(hand, *generated)
        assert label == "held-out split" and student is generated[0] and teacher is generated[1]


def test_the_bundle_describes_only_the_corpus_the_student_was_trained_on(
    pipeline_run: PipelineRun, tmp_path: Path
) -> None:
    import shutil

    from export.errors import ExportError
    from export.pipeline import bundle_stage

    student = tmp_path / "student"
    shutil.copytree(pipeline_run.student, student)
    info_file = student / "distill_config.json"
    info = json.loads(info_file.read_text())
    stale = tmp_path / "stale.jsonl"  # another file now sits where distillation read its corpus
    stale.write_text(pipeline_run.corpus.read_text().splitlines()[0] + "\n")
    info["corpus"]["path"] = str(stale)
    info_file.write_text(json.dumps(info))
    recorded = info["corpus"]["sha256"]

    bundle = bundle_stage(student, pipeline_run.int8, pipeline_run.validation, tmp_path / "a")
    assert load_bundle(bundle).manifest.corpus["sha256"] == recorded
    bundle = bundle_stage(student, pipeline_run.int8, pipeline_run.validation, tmp_path / "b", corpus=pipeline_run.corpus)
    assert load_bundle(bundle).manifest.corpus["sha256"] == recorded
    with pytest.raises(ExportError, match=r"stale.jsonl is not the corpus the student was trained on"):
        bundle_stage(student, pipeline_run.int8, pipeline_run.validation, tmp_path / "c", corpus=stale)

