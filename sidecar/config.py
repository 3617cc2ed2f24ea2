"""The sidecar's configuration: frozen dataclasses read from one YAML file, each validating itself.

Shape: config/theraguard.yaml (every key documented there and in the README). Relative paths resolve
against the config file's directory. Unknown keys are errors (a typo must not silently fall back to a
default); missing keys take the defaults shown in config/theraguard.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROVIDERS: tuple[str, ...] = ("tensorrt", "cuda", "cpu")
REWRITER_BACKENDS: tuple[str, ...] = ("local", "openai", "none")
_ADDRESS = re.compile(r"^(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-_]+|\*):(?P<port>\d{1,5})$")


class ConfigError(ValueError):
    """An invalid configuration; the message names the key, the bad value and the fix."""


def parse_address(key: str, value: str) -> tuple[str, int]:
    """Split "HOST:PORT" (IPv6 as "[::]:PORT"); port 0 means "pick a free port"."""
    match = _ADDRESS.match(value) if isinstance(value, str) else None
    if not match or int(match["port"]) > 65535:
        raise ConfigError(
            f"{key} must be HOST:PORT with a port in [0, 65535], e.g. 0.0.0.0:50051 (got: {value!r})"
        )
    return match["host"], int(match["port"])


@dataclass(frozen=True)
class TLSConfig:
    """Server TLS; all empty = plaintext, cert+key = TLS, plus client_ca_file = mTLS."""

    cert_file: Path | None = None
    key_file: Path | None = None
    client_ca_file: Path | None = None

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise ConfigError(
                "server.tls.cert_file and server.tls.key_file must be set together "
                f"(got: cert_file={_show(self.cert_file)}, key_file={_show(self.key_file)})"
            )
        if self.client_ca_file is not None and self.cert_file is None:
            raise ConfigError(
                "server.tls.client_ca_file (mTLS) needs server.tls.cert_file and key_file as well"
            )
        for key, path in (
            ("cert_file", self.cert_file),
            ("key_file", self.key_file),
            ("client_ca_file", self.client_ca_file),
        ):
            if path is not None and not path.is_file():
                raise ConfigError(f"server.tls.{key}: {path} is not a readable file")

    @property
    def enabled(self) -> bool:
        return self.cert_file is not None

    @property
    def mutual(self) -> bool:
        return self.client_ca_file is not None


@dataclass(frozen=True)
class ServerConfig:
    """Where and how the gRPC server listens."""

    address: str = "0.0.0.0:50051"
    metrics_address: str = "0.0.0.0:9464"  # "" disables the metrics endpoint
    max_concurrent_calls: int = 256
    grace_seconds: float = 10.0
    tls: TLSConfig = field(default_factory=TLSConfig)

    def __post_init__(self) -> None:
        parse_address("server.address", self.address)
        if self.metrics_address:
            parse_address("server.metrics_address", self.metrics_address)
        _positive_int("server.max_concurrent_calls", self.max_concurrent_calls)
        if not 0 <= self.grace_seconds <= 300:
            raise ConfigError(f"server.grace_seconds must be in [0, 300] (got: {self.grace_seconds})")


@dataclass(frozen=True)
class LimitsConfig:
    """Request size limits; anything beyond them is INVALID_ARGUMENT."""

    max_reply_chars: int = 4000
    max_turn_chars: int = 4000
    max_turns: int = 20
    max_bulk_items: int = 256

    def __post_init__(self) -> None:
        for key in ("max_reply_chars", "max_turn_chars", "max_bulk_items"):
            _positive_int(f"limits.{key}", getattr(self, key))
        if not isinstance(self.max_turns, int) or isinstance(self.max_turns, bool) or self.max_turns < 0:
            raise ConfigError(f"limits.max_turns must be an integer >= 0 (got: {self.max_turns!r})")


@dataclass(frozen=True)
class BatchingConfig:
    """Dynamic micro-batching of concurrent calls."""

    max_batch_size: int = 32
    max_wait_ms: float = 2.0
    max_queue: int = 1024

    def __post_init__(self) -> None:
        _positive_int("judge.batching.max_batch_size", self.max_batch_size)
        _positive_int("judge.batching.max_queue", self.max_queue)
        if not 0 <= self.max_wait_ms <= 1000:
            raise ConfigError(f"judge.batching.max_wait_ms must be in [0, 1000] (got: {self.max_wait_ms})")


@dataclass(frozen=True)
class JudgeConfig:
    """The judge bundle and how to run it."""

    bundle: Path
    providers: tuple[str, ...] = PROVIDERS
    require_gpu: bool = False
    tensorrt_cache_dir: Path = Path("/tmp/theraguard-trt")
    intra_op_threads: int = 0
    batching: BatchingConfig = field(default_factory=BatchingConfig)

    def __post_init__(self) -> None:
        if not self.providers:
            raise ConfigError(f"judge.providers must list at least one of {list(PROVIDERS)} (got: [])")
        for name in self.providers:
            if name not in PROVIDERS:
                raise ConfigError(f"judge.providers: unknown provider {name!r}; use any of {list(PROVIDERS)}")
        if len(set(self.providers)) != len(self.providers):
            raise ConfigError(f"judge.providers lists a provider twice (got: {list(self.providers)})")
        if self.require_gpu and self.providers == ("cpu",):
            raise ConfigError(
                "judge.require_gpu is true but judge.providers is [cpu]: add tensorrt and/or cuda"
            )
        if (
            not isinstance(self.intra_op_threads, int)
            or isinstance(self.intra_op_threads, bool)
            or not (0 <= self.intra_op_threads <= 256)
        ):
            raise ConfigError(
                f"judge.intra_op_threads must be an integer in [0, 256] (got: {self.intra_op_threads!r})"
            )


@dataclass(frozen=True)
class OpenAIConfig:
    """A remote OpenAI-compatible chat-completions server (vLLM, TGI, NIM)."""

    base_url: str = ""
    model: str = ""
    api_key_env: str = "OPENAI_API_KEY"  # the NAME of the env var holding the key, never the key
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if self.base_url and not re.match(r"^https?://", self.base_url):
            raise ConfigError(
                f"rewriter.openai.base_url must start with http:// or https:// (got: {self.base_url!r})"
            )
        if self.api_key_env and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", self.api_key_env):
            raise ConfigError(
                f"rewriter.openai.api_key_env must be an environment variable NAME (got: {self.api_key_env!r}); "
                "never put the key itself in the config"
            )
        if not 0 < self.timeout_s <= 600:
            raise ConfigError(f"rewriter.openai.timeout_s must be in (0, 600] (got: {self.timeout_s})")


@dataclass(frozen=True)
class RewriterConfig:
    """Which rewriter runs the one-pass Critic -> Coach -> Therapist rewrite."""

    backend: str = "local"  # local | openai | none
    model_dir: Path = Path("models/rewriter")
    max_new_tokens: int = 120
    openai: OpenAIConfig = field(default_factory=OpenAIConfig)

    def __post_init__(self) -> None:
        if self.backend not in REWRITER_BACKENDS:
            raise ConfigError(
                f"rewriter.backend must be one of {list(REWRITER_BACKENDS)} (got: {self.backend!r})"
            )
        _positive_int("rewriter.max_new_tokens", self.max_new_tokens)
        if self.max_new_tokens > 4096:
            raise ConfigError(f"rewriter.max_new_tokens must be <= 4096 (got: {self.max_new_tokens})")
        if self.backend == "openai" and not (self.openai.base_url and self.openai.model):
            raise ConfigError(
                "rewriter.backend is openai: set rewriter.openai.base_url and rewriter.openai.model"
            )


@dataclass(frozen=True)
class SidecarConfig:
    """The whole sidecar configuration."""

    judge: JudgeConfig
    policy_file: Path
    server: ServerConfig = field(default_factory=ServerConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    rewriter: RewriterConfig = field(default_factory=lambda: RewriterConfig(backend="none"))
    source: Path | None = None  # the file it was read from, for messages

    def __post_init__(self) -> None:
        if self.limits.max_bulk_items > self.judge.batching.max_queue:
            raise ConfigError(
                f"limits.max_bulk_items ({self.limits.max_bulk_items}) must be <= judge.batching.max_queue "
                f"({self.judge.batching.max_queue}): a bulk call larger than the queue could never be accepted"
            )

    def with_overrides(
        self, *, address: str | None = None, metrics_address: str | None = None
    ) -> SidecarConfig:
        """A copy with the CLI's --address / --metrics-address applied (validated again)."""
        server = self.server
        if address is not None or metrics_address is not None:
            server = ServerConfig(
                address=address if address is not None else server.address,
                metrics_address=metrics_address if metrics_address is not None else server.metrics_address,
                max_concurrent_calls=server.max_concurrent_calls,
                grace_seconds=server.grace_seconds,
                tls=server.tls,
            )
        return SidecarConfig(
            judge=self.judge,
            policy_file=self.policy_file,
            server=server,
            limits=self.limits,
            rewriter=self.rewriter,
            source=self.source,
        )


def load_config(path: str | Path) -> SidecarConfig:
    """Read and validate the YAML config; raise ConfigError naming the file and the problem."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist (pass --config PATH)") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    try:
        return config_from_dict(raw, base=path.resolve().parent, source=path)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def config_from_dict(raw: Any, *, base: Path, source: Path | None = None) -> SidecarConfig:
    """Build a SidecarConfig from parsed YAML; relative paths resolve against ``base``."""
    top = _section(raw, "", {"server", "limits", "judge", "rewriter", "policy_file"})
    if "judge" not in top or "bundle" not in (top.get("judge") or {}):
        raise ConfigError("judge.bundle is required: the judge bundle directory (e.g. ../models/judge)")
    if "policy_file" not in top:
        raise ConfigError("policy_file is required: the policy YAML (e.g. policy.yaml)")

    server = _section(
        top.get("server"),
        "server",
        {"address", "metrics_address", "max_concurrent_calls", "grace_seconds", "tls"},
    )
    tls = _section(server.pop("tls", None), "server.tls", {"cert_file", "key_file", "client_ca_file"})
    limits = _section(
        top.get("limits"), "limits", {"max_reply_chars", "max_turn_chars", "max_turns", "max_bulk_items"}
    )
    judge = _section(
        top["judge"],
        "judge",
        {"bundle", "providers", "require_gpu", "tensorrt_cache_dir", "intra_op_threads", "batching"},
    )
    batching = _section(
        judge.pop("batching", None), "judge.batching", {"max_batch_size", "max_wait_ms", "max_queue"}
    )
    rewriter = _section(top.get("rewriter"), "rewriter", {"backend", "model_dir", "max_new_tokens", "openai"})
    openai = _section(
        rewriter.pop("openai", None), "rewriter.openai", {"base_url", "model", "api_key_env", "timeout_s"}
    )

    _types(
        "server",
        server,
        {"address": str, "metrics_address": str, "max_concurrent_calls": int, "grace_seconds": float},
    )
    _types("limits", limits, dict.fromkeys(limits, int))
    _types(
        "judge",
        judge,
        {
            "bundle": str,
            "providers": list,
            "require_gpu": bool,
            "tensorrt_cache_dir": str,
            "intra_op_threads": int,
        },
    )
    _types("judge.batching", batching, {"max_batch_size": int, "max_wait_ms": float, "max_queue": int})
    _types("rewriter", rewriter, {"backend": str, "model_dir": str, "max_new_tokens": int})
    _types("rewriter.openai", openai, {"base_url": str, "model": str, "api_key_env": str, "timeout_s": float})
    _types("server.tls", tls, dict.fromkeys(tls, str))

    def path_or_none(value: str | None) -> Path | None:
        return _resolve(base, value) if value else None

    if "providers" in judge:
        judge["providers"] = tuple(judge["providers"])
    for key in ("bundle", "tensorrt_cache_dir"):
        if key in judge:
            judge[key] = _resolve(base, judge[key])
    if "model_dir" in rewriter:
        rewriter["model_dir"] = _resolve(base, rewriter["model_dir"])
    elif rewriter.get("backend", "local") == "local":
        raise ConfigError(
            "rewriter.model_dir is required for rewriter.backend local (e.g. ../models/rewriter)"
        )
    return SidecarConfig(
        server=ServerConfig(**server, tls=TLSConfig(**{k: path_or_none(v) for k, v in tls.items()})),
        limits=LimitsConfig(**limits),
        judge=JudgeConfig(**judge, batching=BatchingConfig(**batching)),
        rewriter=RewriterConfig(**rewriter, openai=OpenAIConfig(**openai)),
        policy_file=_resolve(base, top["policy_file"]),
        source=source,
    )


def _section(value: Any, name: str, known: set[str]) -> dict[str, Any]:
    where = name or "the top level"
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a mapping of keys (got: {type(value).__name__})")
    unknown = sorted(set(map(str, value)) - known)
    if unknown:
        prefix = f"{name}." if name else ""
        raise ConfigError(f"unknown key {prefix}{unknown[0]}; known keys here: {', '.join(sorted(known))}")
    return dict(value)


def _types(section: str, values: dict[str, Any], expected: Mapping[str, type]) -> None:
    for key, kind in expected.items():
        if key not in values:
            continue
        value = values[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            values[key] = float(value)
            continue
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            raise ConfigError(f"{section}.{key} must be {_kind_name(kind)} (got: {value!r})")
        if kind is list and not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{section}.{key} must be a list of names (got: {value!r})")


def _kind_name(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list"}[
        kind
    ]


def _positive_int(key: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{key} must be an integer >= 1 (got: {value!r})")


def _resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _show(path: Path | None) -> str:
    return str(path) if path is not None else '""'
