"""The servicer's request/response types: small frozen dataclasses with ``from_pb`` / ``to_pb``.

``from_pb`` validates against the configured limits and raises InvalidRequest naming the field, what is
wrong and the fix; everything past it works on checked domain values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from sidecar.config import LimitsConfig
from sidecar.domain import DIMENSIONS, SCORE_MAX, SCORE_MIN, Role, Turn
from sidecar.errors import InvalidRequest
from sidecar.pb import guardrail_pb2 as pb

_ROLES = {pb.ROLE_USER: Role.USER, pb.ROLE_ASSISTANT: Role.ASSISTANT}
_ROLE_PB = {role: value for value, role in _ROLES.items()}


class Action(str, Enum):
    """What Guard did (proto Action without the prefix)."""

    PASS = "PASS"
    REWRITTEN = "REWRITTEN"
    FALLBACK = "FALLBACK"
    BLOCKED = "BLOCKED"
    FLAGGED = "FLAGGED"

    def to_pb(self) -> int:
        return pb.Action.Value(f"ACTION_{self.value}")

    @classmethod
    def from_pb(cls, value: int) -> Action:
        return cls(pb.Action.Name(value).removeprefix("ACTION_"))


def dimension_to_pb(name: str) -> int:
    return DIMENSIONS.index(name) + 1  # the proto enum is DIMENSIONS order, from 1


def dimension_from_pb(value: int) -> str:
    return DIMENSIONS[value - 1]


@dataclass(frozen=True)
class CheckRequest:
    """A validated Score or Guard request (the two carry the same fields)."""

    context: tuple[Turn, ...]
    reply: str
    policy: str = ""
    overrides: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    request_id: str = ""

    @classmethod
    def from_pb(
        cls, msg: pb.ScoreRequest | pb.GuardRequest, limits: LimitsConfig, where: str = ""
    ) -> CheckRequest:
        """Validate and convert; ``where`` prefixes field names (e.g. "items[3].") in messages."""
        if not msg.reply.strip():
            raise InvalidRequest(f"{where}reply must not be empty: send the chatbot reply to judge")
        if len(msg.reply) > limits.max_reply_chars:
            raise InvalidRequest(
                f"{where}reply is {len(msg.reply)} characters; the limit is {limits.max_reply_chars} "
                "(limits.max_reply_chars): shorten it or raise the limit"
            )
        if len(msg.context) > limits.max_turns:
            raise InvalidRequest(
                f"{where}context has {len(msg.context)} turns; the limit is {limits.max_turns} "
                "(limits.max_turns): send only the most recent turns"
            )
        turns = []
        for i, turn in enumerate(msg.context):
            if turn.role not in _ROLES:
                raise InvalidRequest(
                    f"{where}context[{i}].role must be ROLE_USER or ROLE_ASSISTANT (got: {_role_name(turn.role)})"
                )
            if not turn.text.strip():
                raise InvalidRequest(f"{where}context[{i}].text must not be empty: drop empty turns")
            if len(turn.text) > limits.max_turn_chars:
                raise InvalidRequest(
                    f"{where}context[{i}].text is {len(turn.text)} characters; the limit is "
                    f"{limits.max_turn_chars} (limits.max_turn_chars): shorten it or raise the limit"
                )
            turns.append(Turn(_ROLES[turn.role], turn.text))
        overrides: dict[str, float] = {}
        for i, override in enumerate(msg.overrides):
            if not 1 <= override.dimension <= len(DIMENSIONS):
                raise InvalidRequest(
                    f"{where}overrides[{i}].dimension must be one of the seven dimensions "
                    f"(got: {_dimension_name(override.dimension)})"
                )
            dim = dimension_from_pb(override.dimension)
            if dim in overrides:
                raise InvalidRequest(
                    f"{where}overrides[{i}]: {dim} is overridden twice; send one override per dimension"
                )
            if not math.isfinite(override.threshold) or not SCORE_MIN <= override.threshold <= SCORE_MAX:
                raise InvalidRequest(
                    f"{where}overrides[{i}]: threshold for {dim} must be in [1, 5] (got: {override.threshold:g})"
                )
            overrides[dim] = float(override.threshold)
        return cls(tuple(turns), msg.reply, msg.policy, MappingProxyType(overrides), msg.request_id)

    def to_score_pb(self) -> pb.ScoreRequest:
        """The request as a ScoreRequest (the client's side)."""
        return pb.ScoreRequest(**self._pb_fields())

    def to_guard_pb(self) -> pb.GuardRequest:
        """The request as a GuardRequest (the client's side)."""
        return pb.GuardRequest(**self._pb_fields())

    def _pb_fields(self) -> dict[str, object]:
        return {
            "context": [pb.Turn(role=_ROLE_PB[t.role], text=t.text) for t in self.context],
            "reply": self.reply,
            "policy": self.policy,
            "overrides": [
                pb.ThresholdOverride(dimension=dimension_to_pb(d), threshold=v)
                for d, v in self.overrides.items()
            ],
            "request_id": self.request_id,
        }


@dataclass(frozen=True)
class DimensionResult:
    """One dimension's score and verdict."""

    dimension: str
    score: float
    threshold: float
    passed: bool
    critical: bool

    def to_pb(self) -> pb.DimensionScore:
        return pb.DimensionScore(
            dimension=dimension_to_pb(self.dimension),
            score=self.score,
            threshold=self.threshold,
            passed=self.passed,
            critical=self.critical,
        )

    @classmethod
    def from_pb(cls, msg: pb.DimensionScore) -> DimensionResult:
        return cls(dimension_from_pb(msg.dimension), msg.score, msg.threshold, msg.passed, msg.critical)


@dataclass(frozen=True)
class VersionInfo:
    """What produced an answer."""

    judge: str
    policy: str
    execution_provider: str
    rewriter: str = ""

    def to_pb(self) -> pb.Versions:
        return pb.Versions(
            judge=self.judge,
            policy=self.policy,
            rewriter=self.rewriter,
            execution_provider=self.execution_provider,
        )

    @classmethod
    def from_pb(cls, msg: pb.Versions) -> VersionInfo:
        return cls(msg.judge, msg.policy, msg.execution_provider, msg.rewriter)


Timings = tuple[tuple[str, float], ...]


def _timings_pb(timings: Timings) -> list[pb.StepTiming]:
    return [pb.StepTiming(step=step, millis=ms) for step, ms in timings]


@dataclass(frozen=True)
class ScoreResult:
    """Scores of one reply under a policy."""

    scores: tuple[DimensionResult, ...]
    versions: VersionInfo
    timings: Timings = ()
    request_id: str = ""

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(s.dimension for s in self.scores if not s.passed)

    def score(self, dimension: str) -> float:
        return next(s.score for s in self.scores if s.dimension == dimension)

    def to_pb(self) -> pb.ScoreResponse:
        return pb.ScoreResponse(
            scores=[s.to_pb() for s in self.scores],
            failed=[dimension_to_pb(d) for d in self.failed],
            timings=_timings_pb(self.timings),
            versions=self.versions.to_pb(),
            request_id=self.request_id,
        )

    @classmethod
    def from_pb(cls, msg: pb.ScoreResponse) -> ScoreResult:
        return cls(
            scores=tuple(DimensionResult.from_pb(s) for s in msg.scores),
            versions=VersionInfo.from_pb(msg.versions),
            timings=tuple((t.step, t.millis) for t in msg.timings),
            request_id=msg.request_id,
        )


@dataclass(frozen=True)
class GuardResult:
    """What to send, and why."""

    action: Action
    reply: str
    reason: str
    versions: VersionInfo
    scores_before: tuple[DimensionResult, ...] = ()
    scores_after: tuple[DimensionResult, ...] = ()
    shadow: bool = False
    shadow_action: Action | None = None
    shadow_reply: str = ""
    timings: Timings = ()
    request_id: str = ""

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(s.dimension for s in self.scores_before if not s.passed)

    def to_pb(self) -> pb.GuardResponse:
        return pb.GuardResponse(
            action=self.action.to_pb(),
            reply=self.reply,
            scores_before=[s.to_pb() for s in self.scores_before],
            scores_after=[s.to_pb() for s in self.scores_after],
            failed=[dimension_to_pb(d) for d in self.failed],
            shadow=self.shadow,
            shadow_action=self.shadow_action.to_pb() if self.shadow_action else pb.ACTION_UNSPECIFIED,
            shadow_reply=self.shadow_reply,
            reason=self.reason,
            timings=_timings_pb(self.timings),
            versions=self.versions.to_pb(),
            request_id=self.request_id,
        )

    @classmethod
    def from_pb(cls, msg: pb.GuardResponse) -> GuardResult:
        return cls(
            action=Action.from_pb(msg.action),
            reply=msg.reply,
            reason=msg.reason,
            versions=VersionInfo.from_pb(msg.versions),
            scores_before=tuple(DimensionResult.from_pb(s) for s in msg.scores_before),
            scores_after=tuple(DimensionResult.from_pb(s) for s in msg.scores_after),
            shadow=msg.shadow,
            shadow_action=Action.from_pb(msg.shadow_action) if msg.shadow_action else None,
            shadow_reply=msg.shadow_reply,
            timings=tuple((t.step, t.millis) for t in msg.timings),
            request_id=msg.request_id,
        )


def bulk_from_pb(msg: pb.BulkScoreRequest, limits: LimitsConfig) -> tuple[CheckRequest, ...]:
    """Validate a BulkScore request as a whole; the first bad item fails it, named by index."""
    if len(msg.items) > limits.max_bulk_items:
        raise InvalidRequest(
            f"items has {len(msg.items)} entries; the limit is {limits.max_bulk_items} (limits.max_bulk_items): "
            "split the audit into smaller calls"
        )
    return tuple(CheckRequest.from_pb(item, limits, where=f"items[{i}].") for i, item in enumerate(msg.items))


def bulk_to_pb(results: Sequence[ScoreResult]) -> pb.BulkScoreResponse:
    return pb.BulkScoreResponse(results=[r.to_pb() for r in results])


def _role_name(value: int) -> str:
    return pb.Role.Name(value) if value in pb.Role.values() else str(value)


def _dimension_name(value: int) -> str:
    return pb.Dimension.Name(value) if value in pb.Dimension.values() else str(value)
