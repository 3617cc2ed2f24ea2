"""Policies: per-dimension thresholds and actions, ``decide(scores, policy)``, and hot reload.

Shape: config/policy.yaml. A ``PolicyStore`` holds the policies in force; it reloads them when the file
changes (polled) or on SIGHUP, and keeps the old ones when a new file is invalid.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from sidecar.config import ConfigError
from sidecar.domain import DIMENSIONS, SCORE_MAX, SCORE_MIN, Scores
from sidecar.errors import InvalidRequest

_log = logging.getLogger("theraguard.policy")
POLL_SECONDS = 1.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


class FailureAction(str, Enum):
    """What a policy does when a dimension fails."""

    REWRITE = "rewrite"
    BLOCK = "block"
    FLAG = "flag"


class Verdict(str, Enum):
    """The decision on one scored reply, before any rewrite."""

    PASS = "pass"
    REWRITE = "rewrite"
    BLOCK = "block"
    FLAG = "flag"


@dataclass(frozen=True)
class FailOpen:
    """Per failure type: True = fail open (send the original, flagged), False = fail closed."""

    judge_unavailable: bool = False
    rewriter_unavailable: bool = False
    overload: bool = False


@dataclass(frozen=True)
class Policy:
    """One named policy; validates itself."""

    name: str
    thresholds: Mapping[str, float]
    fallback_reply: str
    critical: tuple[str, ...] = ("Safety",)
    on_failure: FailureAction = FailureAction.REWRITE
    actions: Mapping[str, FailureAction] = field(default_factory=dict)
    overridable: frozenset[str] = frozenset()
    shadow: bool = False
    fail_open: FailOpen = field(default_factory=FailOpen)

    def __post_init__(self) -> None:
        where = f"policy {self.name!r}"
        if not _NAME.match(self.name):
            raise ConfigError(f"policy name {self.name!r} must be 1-64 of letters, digits, '_', '.', '-'")
        for dim in self.thresholds:
            _check_dimension(f"{where}: thresholds", dim)
        missing = [d for d in DIMENSIONS if d not in self.thresholds]
        if missing:
            raise ConfigError(
                f"{where}: thresholds is missing {', '.join(missing)} (all 7 dimensions are required)"
            )
        for dim, value in self.thresholds.items():
            if not _is_number(value) or not SCORE_MIN <= value <= SCORE_MAX:
                raise ConfigError(f"{where}: threshold for {dim} must be in [1, 5] (got: {value!r})")
        for dim in (*self.critical, *self.actions, *self.overridable):
            _check_dimension(where, dim)
        for dim in self.critical:
            if self.action_for(dim) is FailureAction.FLAG:
                raise ConfigError(
                    f"{where}: {dim} is critical, so its action must be rewrite or block (got: flag); "
                    f"set actions: {{{dim}: rewrite}}, or use shadow: true to observe without acting"
                )
        if not isinstance(self.fallback_reply, str) or not self.fallback_reply.strip():
            raise ConfigError(f"{where}: fallback_reply must be a non-empty vetted reply text")
        object.__setattr__(
            self, "thresholds", MappingProxyType({d: float(self.thresholds[d]) for d in DIMENSIONS})
        )
        object.__setattr__(self, "actions", MappingProxyType(dict(self.actions)))
        object.__setattr__(self, "critical", tuple(d for d in DIMENSIONS if d in self.critical))

    def action_for(self, dimension: str) -> FailureAction:
        return self.actions.get(dimension, self.on_failure)

    def thresholds_with(self, overrides: Mapping[str, float]) -> tuple[float, ...]:
        """Thresholds in DIMENSIONS order with a request's overrides applied, where this policy allows."""
        for dim in overrides:
            if dim not in self.overridable:
                allowed = ", ".join(sorted(self.overridable)) or "none"
                raise InvalidRequest(
                    f"overrides: policy {self.name!r} does not allow overriding the {dim} threshold "
                    f"(overridable: {allowed}); drop the override or use a policy that allows it"
                )
        return tuple(float(overrides.get(d, self.thresholds[d])) for d in DIMENSIONS)


@dataclass(frozen=True)
class PolicySet:
    """All named policies from one file, and which is the default."""

    default_policy: str
    policies: Mapping[str, Policy]
    digest: str = ""  # sha256 hex of the file's bytes

    def __post_init__(self) -> None:
        if not self.policies:
            raise ConfigError("policies must define at least one policy")
        if self.default_policy not in self.policies:
            raise ConfigError(
                f"default_policy {self.default_policy!r} is not defined under policies "
                f"(defined: {', '.join(sorted(self.policies))})"
            )

    def get(self, name: str) -> Policy:
        """The named policy ("" = the default); InvalidRequest naming the known ones otherwise."""
        policy = self.policies.get(name or self.default_policy)
        if policy is None:
            # Quote at most a valid name's length: the message travels in a header (16 KB hard limit).
            shown = f"{name[:64]!r}" + (f"... ({len(name)} characters)" if len(name) > 64 else "")
            raise InvalidRequest(
                f"policy: unknown policy {shown}; known policies: {', '.join(sorted(self.policies))} "
                "(or leave it empty for the default)"
            )
        return policy

    def version(self, policy: Policy) -> str:
        """ "name@sha256-prefix" for audit trails."""
        return f"{policy.name}@{self.digest[:12]}"


@dataclass(frozen=True)
class Decision:
    """What the policy says about one scored reply."""

    verdict: Verdict
    thresholds: tuple[float, ...]  # DIMENSIONS order
    passed: tuple[bool, ...]  # DIMENSIONS order
    failing: tuple[str, ...]  # DIMENSIONS order
    critical: tuple[str, ...]  # the policy's critical dimensions

    @property
    def critical_failing(self) -> tuple[str, ...]:
        return tuple(d for d in self.failing if d in self.critical)


def decide(scores: Scores, policy: Policy, thresholds: Sequence[float] | None = None) -> Decision:
    """Apply thresholds (the policy's, or given ones in DIMENSIONS order) and the policy's actions.

    A failing dimension whose action is block wins over rewrite, which wins over flag.
    """
    limits = tuple(thresholds) if thresholds is not None else tuple(policy.thresholds[d] for d in DIMENSIONS)
    passed = tuple(s >= t for s, t in zip(scores.values, limits))
    failing = tuple(d for d, ok in zip(DIMENSIONS, passed) if not ok)
    actions = {policy.action_for(d) for d in failing}
    if not failing:
        verdict = Verdict.PASS
    elif FailureAction.BLOCK in actions:
        verdict = Verdict.BLOCK
    elif FailureAction.REWRITE in actions:
        verdict = Verdict.REWRITE
    else:
        verdict = Verdict.FLAG
    return Decision(verdict, limits, passed, failing, policy.critical)


# --- reading the file -------------------------------------------------------------------------------

_TOP_KEYS = {"default_policy", "policies"}
_POLICY_KEYS = {
    "thresholds",
    "critical",
    "on_failure",
    "actions",
    "overridable",
    "shadow",
    "fail_open",
    "fallback_reply",
}
_FAIL_OPEN_KEYS = {"judge_unavailable", "rewriter_unavailable", "overload"}


def parse_policies(text: str | bytes) -> PolicySet:
    """Parse and validate policy YAML; ConfigError names the policy, the key and the fix."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"not valid YAML ({err})") from None
    top = _mapping(raw, "the top level", _TOP_KEYS)
    policies_raw = _mapping(top.get("policies"), "policies", None)
    policies = {}
    for name, body in policies_raw.items():
        policies[str(name)] = _parse_policy(str(name), body)
    digest = hashlib.sha256(text if isinstance(text, bytes) else text.encode()).hexdigest()
    default = top.get("default_policy", "default")
    if not isinstance(default, str):
        raise ConfigError(f"default_policy must be a policy name (got: {default!r})")
    return PolicySet(default_policy=default, policies=MappingProxyType(policies), digest=digest)


def load_policies(path: Path) -> PolicySet:
    """Read and validate a policy file; ConfigError prefixed with the path."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the policy file ({err.strerror})") from None
    try:
        return parse_policies(data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def _parse_policy(name: str, body: Any) -> Policy:
    where = f"policy {name!r}"
    body = _mapping(body, where, _POLICY_KEYS)
    thresholds = _mapping(body.get("thresholds"), f"{where}: thresholds", None)
    fail_open = _mapping(body.get("fail_open"), f"{where}: fail_open", _FAIL_OPEN_KEYS)
    for key, value in fail_open.items():
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: fail_open.{key} must be true or false (got: {value!r})")
    shadow = body.get("shadow", False)
    if not isinstance(shadow, bool):
        raise ConfigError(f"{where}: shadow must be true or false (got: {shadow!r})")
    actions = {
        str(d): _action(f"{where}: actions.{d}", a)
        for d, a in _mapping(body.get("actions"), f"{where}: actions", None).items()
    }
    return Policy(
        name=name,
        thresholds=thresholds,
        fallback_reply=body.get("fallback_reply", ""),
        critical=tuple(_names(body.get("critical", ["Safety"]), f"{where}: critical")),
        on_failure=_action(f"{where}: on_failure", body.get("on_failure", "rewrite")),
        actions=actions,
        overridable=frozenset(_names(body.get("overridable", []), f"{where}: overridable")),
        shadow=shadow,
        fail_open=FailOpen(**fail_open),
    )


def _action(where: str, value: Any) -> FailureAction:
    try:
        return FailureAction(value)
    except ValueError:
        raise ConfigError(f"{where} must be one of rewrite, block, flag (got: {value!r})") from None


def _names(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of dimension names, e.g. [Safety] (got: {value!r})")
    return value


def _mapping(value: Any, where: str, known: set[str] | None) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a mapping (got: {type(value).__name__})")
    if known is not None:
        unknown = sorted(set(map(str, value)) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(known))}")
    return dict(value)


def _check_dimension(where: str, dim: str) -> None:
    if dim not in DIMENSIONS:
        raise ConfigError(f"{where}: unknown dimension {dim!r}; dimensions are {', '.join(DIMENSIONS)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# --- hot reload ---------------------------------------------------------------------------------------


class PolicyStore:
    """The policies in force; swapped atomically on a valid reload, kept on an invalid one."""

    def __init__(self, path: Path, on_reload: Any = None) -> None:
        self.path = path
        self._current = load_policies(path)  # invalid at start-up: fatal, raised to the caller
        self._seen = self._signature()
        self._on_reload = on_reload  # callable(result: "applied" | "rejected")

    @property
    def current(self) -> PolicySet:
        return self._current

    def reload(self) -> bool:
        """Re-read the file now; True when a new valid policy set was applied."""
        self._seen = self._signature()
        try:
            fresh = load_policies(self.path)
        except ConfigError as err:
            _log.error(
                "policy_rejected",
                extra={"path": str(self.path), "error": str(err), "kept": self._current.digest[:12]},
            )
            self._notify("rejected")
            return False
        if fresh.digest == self._current.digest:
            return False
        self._current = fresh
        _log.info(
            "policy_reloaded",
            extra={"path": str(self.path), "digest": fresh.digest[:12], "policies": sorted(fresh.policies)},
        )
        self._notify("applied")
        return True

    def changed(self) -> bool:
        """Whether the file's (mtime, size, inode) differs from the last read."""
        return self._signature() != self._seen

    async def watch(self, interval: float = POLL_SECONDS) -> None:
        """Poll the file and reload on change, until cancelled."""
        while True:
            await asyncio.sleep(interval)
            if self.changed():
                self.reload()

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _notify(self, result: str) -> None:
        if self._on_reload is not None:
            self._on_reload(result)
