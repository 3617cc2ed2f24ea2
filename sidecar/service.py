"""The Guardrail servicer: pb -> domain -> Guard -> pb, nothing else."""

from __future__ import annotations

import logging
import time
from typing import Any

import grpc

from sidecar.config import LimitsConfig
from sidecar.errors import JudgeUnavailable, Overloaded, UndecodableRequest, lenient_parser, rpc_errors
from sidecar.guard import Guard
from sidecar.logs import text_digest
from sidecar.messages import CheckRequest, GuardResult, bulk_from_pb, bulk_to_pb
from sidecar.metrics import Metrics
from sidecar.pb import guardrail_pb2 as pb
from sidecar.pb import guardrail_pb2_grpc as pb_grpc

_log = logging.getLogger("theraguard.rpc")


class GuardrailServicer(pb_grpc.GuardrailServicer):
    """Implements theraguard.v1.Guardrail on grpc.aio."""

    def __init__(self, limits: LimitsConfig, metrics: Metrics, max_concurrent_calls: int) -> None:
        self._limits = limits
        self._metrics = metrics
        self._max_in_flight = max_concurrent_calls
        self._in_flight = 0
        self._guard: Guard | None = None  # set once the judge is loaded and warmed

    def attach(self, guard: Guard) -> None:
        self._guard = guard

    @property
    def guard(self) -> Guard:
        if self._guard is None:
            raise JudgeUnavailable(
                "the judge is still loading; wait for the health service to report SERVING"
            )
        return self._guard

    @rpc_errors("Score")
    async def Score(self, request: pb.ScoreRequest, context: grpc.aio.ServicerContext) -> pb.ScoreResponse:
        started = time.perf_counter()
        call = CheckRequest.from_pb(request, self._limits)
        validate_ms = (time.perf_counter() - started) * 1000
        result = await self.guard.score(call, _deadline(context))
        timings = (
            ("validate", validate_ms),
            *result.timings,
            ("total", (time.perf_counter() - started) * 1000),
        )
        self._metrics.observe_stages(timings)
        return _with_timings(result.to_pb(), timings)

    @rpc_errors("Guard")
    async def Guard(self, request: pb.GuardRequest, context: grpc.aio.ServicerContext) -> pb.GuardResponse:
        started = time.perf_counter()
        call = CheckRequest.from_pb(request, self._limits)
        validate_ms = (time.perf_counter() - started) * 1000
        result = await self.guard.guard(call, _deadline(context))
        timings = (("validate", validate_ms), *result.timings)
        self._metrics.observe_stages(timings)
        self._observe_guard(result)
        return _with_timings(result.to_pb(), timings)

    @rpc_errors("BulkScore")
    async def BulkScore(
        self, request: pb.BulkScoreRequest, context: grpc.aio.ServicerContext
    ) -> pb.BulkScoreResponse:
        calls = bulk_from_pb(request, self._limits)
        if not calls:
            return pb.BulkScoreResponse()
        results = await self.guard.score_many(calls, _deadline(context), bulk=True)
        return bulk_to_pb(results)

    def admit(self, rpc: str) -> None:
        """Refuse a call beyond server.max_concurrent_calls at once (health checks are not counted)."""
        if self._in_flight >= self._max_in_flight:
            raise Overloaded(
                f"{self._in_flight} calls in flight, the limit is {self._max_in_flight} "
                "(server.max_concurrent_calls); retry with backoff"
            )
        self._in_flight += 1
        self._metrics.in_flight.labels(rpc).inc()

    def observe_call(
        self, rpc: str, code: grpc.StatusCode, seconds: float, request: Any, admitted: bool
    ) -> None:
        """Called by rpc_errors once per finished call: metrics and one log line, never text."""
        if admitted:
            self._in_flight -= 1
            self._metrics.in_flight.labels(rpc).dec()
        self._metrics.observe_rpc(rpc, code, seconds)
        fields: dict[str, Any] = {"rpc": rpc, "code": code.name, "millis": round(seconds * 1000, 3)}
        if isinstance(request, UndecodableRequest):
            fields["request_bytes"] = request.size
        elif isinstance(request, pb.BulkScoreRequest):
            fields["items"] = len(request.items)
        else:
            fields.update(
                request_id=request.request_id[:128],
                reply_chars=len(request.reply),
                reply_sha256=text_digest(request.reply),
                turns=len(request.context),
                context_chars=sum(len(t.text) for t in request.context),
                policy=request.policy[:64],
            )
        level = logging.WARNING if code in _NOTABLE else logging.INFO
        _log.log(level, "rpc", extra=fields)

    def _observe_guard(self, result: GuardResult) -> None:
        # In shadow mode count what would have happened, labelled as shadow.
        action = (result.shadow_action or result.action) if result.shadow else result.action
        self._metrics.actions.labels(action.value, result.reason, str(result.shadow).lower()).inc()
        for dim in result.failed:
            self._metrics.dimension_failures.labels(dim, action.value).inc()


def add_guardrail_to_server(servicer: GuardrailServicer, server: grpc.aio.Server) -> None:
    """Register theraguard.v1.Guardrail, as the generated add_GuardrailServicer_to_server does, but with
    request deserializers that hand undecodable bytes to the handler (INVALID_ARGUMENT, not grpc's
    UNKNOWN)."""
    service = pb.DESCRIPTOR.services_by_name["Guardrail"]
    handlers = {
        method.name: grpc.unary_unary_rpc_method_handler(
            getattr(servicer, method.name),
            request_deserializer=lenient_parser(getattr(pb, method.input_type.name)),
            response_serializer=getattr(pb, method.output_type.name).SerializeToString,
        )
        for method in service.methods
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))
    server.add_registered_method_handlers(service.full_name, handlers)


_NOTABLE = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN}


def _deadline(context: grpc.aio.ServicerContext) -> float | None:
    """The caller's deadline on the time.monotonic() clock, or None."""
    remaining = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


def _with_timings(message: Any, timings: tuple[tuple[str, float], ...]) -> Any:
    del message.timings[:]
    message.timings.extend(pb.StepTiming(step=s, millis=ms) for s, ms in timings)
    return message
