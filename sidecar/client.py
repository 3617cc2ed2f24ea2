"""A small synchronous Python client for the Guardrail service, returning domain objects.

    with GuardrailClient("localhost:50051") as client:
        result = client.guard([("user", "I can't sleep")], "Have you tried counting sheep?")
        send(result.reply)

RPC failures raise ``grpc.RpcError`` (``.code()``, ``.details()``); INVALID_ARGUMENT details name the
bad field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Self

import grpc

from sidecar.domain import Role, Turn
from sidecar.messages import CheckRequest, GuardResult, ScoreResult
from sidecar.pb import guardrail_pb2 as pb
from sidecar.pb import guardrail_pb2_grpc as pb_grpc

ContextLike = Iterable[Turn | tuple[str, str]]


def as_turns(context: ContextLike) -> tuple[Turn, ...]:
    """Accept Turn objects or ("user"|"assistant", text) pairs."""
    turns = []
    for turn in context:
        if isinstance(turn, Turn):
            turns.append(turn)
        else:
            role, text = turn
            turns.append(Turn(Role(role), text))
    return tuple(turns)


class GuardrailClient:
    """Calls Score, Guard and BulkScore on a TheraGuard sidecar."""

    def __init__(
        self,
        target: str,
        *,
        timeout: float | None = 5.0,
        root_certificates: Path | None = None,
        private_key: Path | None = None,
        certificate_chain: Path | None = None,
        server_name: str | None = None,
    ) -> None:
        """Open a channel; TLS when ``root_certificates`` is given, mTLS when the key and chain are too.

        Args:
            target: "host:port" of the sidecar.
            timeout: default per-call deadline in seconds (None = no deadline).
            root_certificates: CA bundle (PEM) that signed the server certificate.
            private_key: client key (PEM), for mTLS.
            certificate_chain: client certificate (PEM), for mTLS.
            server_name: override the TLS host name check (e.g. when dialling an IP).
        """
        self.timeout = timeout
        if root_certificates is None:
            self._channel = grpc.insecure_channel(target)
        else:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=Path(root_certificates).read_bytes(),
                private_key=Path(private_key).read_bytes() if private_key else None,
                certificate_chain=Path(certificate_chain).read_bytes() if certificate_chain else None,
            )
            options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
            self._channel = grpc.secure_channel(target, credentials, options=options)
        self.stub = pb_grpc.GuardrailStub(self._channel)

    def score(
        self,
        context: ContextLike,
        reply: str,
        *,
        policy: str = "",
        overrides: Mapping[str, float] | None = None,
        request_id: str = "",
        timeout: float | None = None,
    ) -> ScoreResult:
        """Score one reply; each score carries the policy's threshold and verdict."""
        request = _request(context, reply, policy, overrides, request_id)
        response = self.stub.Score(request.to_score_pb(), timeout=timeout or self.timeout)
        return ScoreResult.from_pb(response)

    def guard(
        self,
        context: ContextLike,
        reply: str,
        *,
        policy: str = "",
        overrides: Mapping[str, float] | None = None,
        request_id: str = "",
        timeout: float | None = None,
    ) -> GuardResult:
        """Guard one reply: ``result.reply`` is what to send (empty when BLOCKED)."""
        request = _request(context, reply, policy, overrides, request_id)
        response = self.stub.Guard(request.to_guard_pb(), timeout=timeout or self.timeout)
        return GuardResult.from_pb(response)

    def bulk_score(self, items: Sequence[CheckRequest], *, timeout: float | None = None) -> list[ScoreResult]:
        """Score many replies in one call (offline audits), results in request order."""
        request = pb.BulkScoreRequest(items=[item.to_score_pb() for item in items])
        response = self.stub.BulkScore(request, timeout=timeout or self.timeout)
        return [ScoreResult.from_pb(r) for r in response.results]

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _request(
    context: ContextLike, reply: str, policy: str, overrides: Mapping[str, float] | None, request_id: str
) -> CheckRequest:
    return CheckRequest(as_turns(context), reply, policy, MappingProxyType(dict(overrides or {})), request_id)
