"""The judge bundle: its manifest, and loading a bundle directory with every file's hash verified.

A bundle is a directory written by ``python -m export bundle`` (offline, with torch); the sidecar only
reads it (no torch here). ``manifest.json`` names the ONNX models, the tokenizer, the dimension order,
the encoding (max length, truncation rule), the graph's input/output names and a sha256 for every
other file. ``load_bundle`` refuses a bundle whose manifest or files do not match, saying what and how
to fix it: a judge that scores with the wrong model or the wrong dimension order must never start.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sidecar.domain import DIMENSIONS, SCORE_MAX, SCORE_MIN
from sidecar.textpair import TRUNCATION_RULE

FORMAT = "theraguard.judge-bundle"
FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
# The ONNX graph's names, exactly: the runtime feeds and reads these.
INPUT_NAMES: tuple[str, ...] = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAMES: tuple[str, ...] = ("scores", "probs")
MODEL_KINDS: tuple[str, ...] = ("cpu", "gpu", "fp32")
REBUILD_HINT = "rebuild the bundle with `python -m export bundle` (or `make judge` for the default one)"
_CHUNK = 1 << 20


class BundleError(ValueError):
    """A judge bundle that cannot be used; the message names the file, what is wrong and the fix."""


@dataclass(frozen=True)
class TensorRTProfile:
    """Optimisation profile shapes, each [batch, sequence], shared by every input."""

    min: tuple[int, int]
    opt: tuple[int, int]
    max: tuple[int, int]


@dataclass(frozen=True)
class TensorRTSettings:
    """What the TensorRT execution provider needs to build and cache an engine for the GPU model."""

    fp16: bool
    profile: TensorRTProfile
    engine_cache_dir_hint: str = ""


@dataclass(frozen=True)
class ModelFiles:
    """Model file per execution target, relative to the bundle directory."""

    cpu: str  # int8 ONNX
    gpu: str | None = None  # fp16 ONNX; None when built on demand (`python -m export fp16`)
    fp32: str | None = None  # reference model; usually not shipped


@dataclass(frozen=True)
class BundleManifest:
    """The contents of ``manifest.json``; validates itself on creation.

    Mapping fields hold plain JSON data and are read-only by convention.
    """

    name: str
    version: str
    created: str  # ISO 8601, UTC
    max_length: int  # tokens, special tokens included
    models: ModelFiles
    tokenizer: str
    tensorrt: TensorRTSettings
    files: Mapping[str, str]  # relative path -> sha256 hex, every file except manifest.json
    dimensions: tuple[str, ...] = DIMENSIONS
    score_scale: tuple[float, float] = (SCORE_MIN, SCORE_MAX)
    truncation: str = TRUNCATION_RULE
    inputs: tuple[str, ...] = INPUT_NAMES
    outputs: Mapping[str, str] = field(
        default_factory=lambda: {
            "scores": "float32 [batch, 7] expected score on the 1-5 scale",
            "probs": "float32 [batch, 7, 5]",
        }
    )
    teacher: Mapping[str, Any] = field(default_factory=dict)
    corpus: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    recommended_thresholds: Mapping[str, float] = field(default_factory=dict)
    build: Mapping[str, Any] = field(default_factory=dict)  # how it was built: seed, settings, tool versions
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.format != FORMAT:
            raise BundleError(
                f"{MANIFEST_FILE}: format must be {FORMAT!r} (got: {self.format!r}); "
                f"this is not a TheraGuard judge bundle: {REBUILD_HINT}"
            )
        if type(self.format_version) is not int or self.format_version != FORMAT_VERSION:
            raise BundleError(
                f"{MANIFEST_FILE}: unsupported format_version {self.format_version!r} "
                f"(this sidecar reads version {FORMAT_VERSION}); {REBUILD_HINT} with the export of the "
                "same TheraGuard release, or run the sidecar release that wrote it"
            )
        if tuple(self.dimensions) != DIMENSIONS:
            raise BundleError(
                f"{MANIFEST_FILE}: dimension order must be {list(DIMENSIONS)} (got: {list(self.dimensions)}); "
                f"the model's outputs would be read against the wrong dimensions: {REBUILD_HINT}"
            )
        if tuple(self.score_scale) != (SCORE_MIN, SCORE_MAX):
            raise BundleError(
                f"{MANIFEST_FILE}: score_scale must be [1, 5] (got: {list(self.score_scale)}); {REBUILD_HINT}"
            )
        if self.truncation != TRUNCATION_RULE:
            raise BundleError(
                f"{MANIFEST_FILE}: truncation must be {TRUNCATION_RULE!r} (got: {self.truncation!r}); "
                f"the sidecar encodes pairs only that way: {REBUILD_HINT}"
            )
        if not isinstance(self.max_length, int) or isinstance(self.max_length, bool) or self.max_length < 16:
            raise BundleError(f"{MANIFEST_FILE}: max_length must be an integer >= 16 (got: {self.max_length!r})")
        if tuple(self.inputs) != INPUT_NAMES:
            raise BundleError(
                f"{MANIFEST_FILE}: inputs must be {list(INPUT_NAMES)} (got: {list(self.inputs)}); {REBUILD_HINT}"
            )
        if sorted(self.outputs) != sorted(OUTPUT_NAMES):
            raise BundleError(
                f"{MANIFEST_FILE}: outputs must be {list(OUTPUT_NAMES)} (got: {sorted(self.outputs)}); "
                f"{REBUILD_HINT}"
            )
        for dim, value in self.recommended_thresholds.items():
            if dim not in DIMENSIONS:
                raise BundleError(
                    f"{MANIFEST_FILE}: recommended_thresholds names unknown dimension {dim!r} "
                    f"(known: {', '.join(DIMENSIONS)})"
                )
            if not isinstance(value, int | float) or not SCORE_MIN <= value <= SCORE_MAX:
                raise BundleError(
                    f"{MANIFEST_FILE}: recommended threshold for {dim} must be in [1, 5] (got: {value!r})"
                )
        for path, digest in self.files.items():
            _check_relative(path)
            if not (isinstance(digest, str) and len(digest) == 64 and _is_hex(digest)):
                raise BundleError(f"{MANIFEST_FILE}: files[{path!r}] must be a sha256 hex digest (got: {digest!r})")
        # Every file the runtime opens must be covered by a hash.
        named = {"models.cpu": self.models.cpu, "models.gpu": self.models.gpu, "models.fp32": self.models.fp32}
        named["tokenizer"] = self.tokenizer
        for what, path in named.items():
            if path is not None and path not in self.files:
                raise BundleError(
                    f"{MANIFEST_FILE}: {what} names {path!r}, which has no sha256 in 'files'; {REBUILD_HINT}"
                )
        prof = self.tensorrt.profile
        for a, b in ((prof.min, prof.opt), (prof.opt, prof.max)):
            if not all(0 < x <= y for x, y in zip(a, b)):
                raise BundleError(
                    f"{MANIFEST_FILE}: tensorrt.profile needs 0 < min <= opt <= max per axis "
                    f"(got: min {list(prof.min)}, opt {list(prof.opt)}, max {list(prof.max)})"
                )
        if prof.max[1] > self.max_length:
            raise BundleError(
                f"{MANIFEST_FILE}: tensorrt.profile max sequence {prof.max[1]} exceeds max_length {self.max_length}"
            )

    # --- JSON ---------------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BundleManifest:
        """Build from parsed JSON; a missing or mistyped field raises BundleError naming it."""
        if not isinstance(data, Mapping):
            raise BundleError(f"{MANIFEST_FILE}: expected a JSON object at the top level; {REBUILD_HINT}")
        # Check identity first so a foreign or future manifest gets the right message, not "missing field".
        for key in ("format", "format_version"):
            if key not in data:
                raise BundleError(f"{MANIFEST_FILE}: missing field {key!r}; {REBUILD_HINT}")
        try:
            models = data["models"]
            trt = data["tensorrt"]
            profile = trt["profile"]
            return cls(
                format=data["format"],
                format_version=data["format_version"],
                name=str(data["name"]),
                version=str(data["version"]),
                created=str(data["created"]),
                dimensions=tuple(data["dimensions"]),
                score_scale=tuple(float(x) for x in data["score_scale"]),  # type: ignore[arg-type]
                max_length=data["max_length"],
                truncation=data["truncation"],
                inputs=tuple(data["inputs"]),
                outputs=dict(data["outputs"]),
                models=ModelFiles(cpu=models["cpu"], gpu=models.get("gpu"), fp32=models.get("fp32")),
                tokenizer=data["tokenizer"],
                tensorrt=TensorRTSettings(
                    fp16=bool(trt["fp16"]),
                    profile=TensorRTProfile(
                        min=_shape(profile["min"]), opt=_shape(profile["opt"]), max=_shape(profile["max"])
                    ),
                    engine_cache_dir_hint=str(trt.get("engine_cache_dir_hint", "")),
                ),
                teacher=dict(data.get("teacher", {})),
                corpus=dict(data.get("corpus", {})),
                metrics=dict(data.get("metrics", {})),
                recommended_thresholds=dict(data.get("recommended_thresholds", {})),
                build=dict(data.get("build", {})),
                files=dict(data["files"]),
            )
        except KeyError as err:
            raise BundleError(f"{MANIFEST_FILE}: missing field {err.args[0]!r}; {REBUILD_HINT}") from None
        except (TypeError, ValueError) as err:
            if isinstance(err, BundleError):
                raise
            raise BundleError(f"{MANIFEST_FILE}: malformed field ({err}); {REBUILD_HINT}") from None

    @classmethod
    def from_json(cls, text: str) -> BundleManifest:
        """Parse ``manifest.json`` text."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise BundleError(f"{MANIFEST_FILE}: not valid JSON ({err}); {REBUILD_HINT}") from None
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, keys in a stable, readable order."""
        raw = asdict(self)
        order = [
            "format", "format_version", "name", "version", "created", "dimensions", "score_scale",
            "max_length", "truncation", "inputs", "outputs", "models", "tokenizer", "tensorrt",
            "teacher", "corpus", "metrics", "recommended_thresholds", "build", "files",
        ]  # fmt: skip
        out = {key: raw[key] for key in order}
        for key in ("dimensions", "inputs"):
            out[key] = list(out[key])
        out["score_scale"] = [int(x) if float(x).is_integer() else x for x in self.score_scale]
        prof = out["tensorrt"]["profile"]
        out["tensorrt"]["profile"] = {k: list(v) for k, v in prof.items()}
        out["files"] = dict(sorted(self.files.items()))
        return out

    def to_json(self) -> str:
        """Serialise as ``manifest.json`` text (indented, trailing newline)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class JudgeBundle:
    """A verified bundle directory."""

    directory: Path
    manifest: BundleManifest

    def model_path(self, kind: str = "cpu") -> Path:
        """Path of the model for ``kind`` ("cpu" int8, "gpu" fp16, "fp32")."""
        if kind not in MODEL_KINDS:
            raise BundleError(f"unknown model kind {kind!r}: use one of {', '.join(MODEL_KINDS)}")
        rel = getattr(self.manifest.models, kind)
        if rel is None:
            fix = (
                f"build it with `python -m export fp16 --bundle {self.directory}`"
                if kind == "gpu"
                else "rebuild the bundle with `python -m export bundle --keep-fp32`"
            )
            raise BundleError(f"{self.directory / MANIFEST_FILE}: the bundle has no {kind} model; {fix}")
        return self.directory / rel

    @property
    def tokenizer_path(self) -> Path:
        return self.directory / self.manifest.tokenizer

    @property
    def dimensions(self) -> tuple[str, ...]:
        return self.manifest.dimensions

    @property
    def max_length(self) -> int:
        return self.manifest.max_length


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def load_bundle(directory: str | Path) -> JudgeBundle:
    """Read ``manifest.json`` and verify the format, the dimension order and every file's sha256.

    Raises:
        BundleError: the directory or manifest is missing or invalid, a listed file is missing, or a
            file's hash differs from the manifest. The message names the file and the fix.
    """
    root = Path(directory)
    manifest_path = root / MANIFEST_FILE
    if not root.is_dir():
        raise BundleError(f"judge bundle directory {root} does not exist; {REBUILD_HINT}, or fix judge.bundle")
    if not manifest_path.is_file():
        raise BundleError(f"{manifest_path} is missing: {root} is not a judge bundle; {REBUILD_HINT}")
    try:
        manifest = BundleManifest.from_json(manifest_path.read_text(encoding="utf-8"))
    except BundleError as err:
        raise BundleError(f"{root}/{err}") from None
    except UnicodeDecodeError:
        raise BundleError(f"{manifest_path}: not UTF-8 text; {REBUILD_HINT}") from None
    for rel, expected in sorted(manifest.files.items()):
        path = root / rel
        if not path.is_file():
            raise BundleError(
                f"{path} is missing (listed in {MANIFEST_FILE} with sha256 {expected}); "
                f"copy the whole bundle directory, or {REBUILD_HINT}"
            )
        actual = sha256_file(path)
        if actual != expected.lower():
            raise BundleError(
                f"{path} does not match {MANIFEST_FILE}: expected sha256 {expected}, got {actual}; the file "
                f"is corrupt or was replaced: {REBUILD_HINT}"
            )
    return JudgeBundle(directory=root, manifest=manifest)


def _shape(value: Any) -> tuple[int, int]:
    if not (isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(x, int) for x in value)):
        raise BundleError(f"{MANIFEST_FILE}: tensorrt.profile shapes must be [batch, sequence] (got: {value!r})")
    return (value[0], value[1])


def _check_relative(path: str) -> None:
    parts = PurePosixPath(path).parts
    if not path or PurePosixPath(path).is_absolute() or ".." in parts or path == MANIFEST_FILE:
        raise BundleError(
            f"{MANIFEST_FILE}: files entry {path!r} must be a relative path inside the bundle "
            "(no '..', not absolute, not manifest.json)"
        )


def _is_hex(text: str) -> bool:
    try:
        int(text, 16)
    except ValueError:
        return False
    return True
