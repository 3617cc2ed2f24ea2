"""Domain errors and the ONE place that maps them to gRPC status codes.

Handlers raise these (or let anything else escape); ``rpc_errors`` turns them into a status with a
message meant for the caller. Unexpected exceptions become INTERNAL, logged by type and traceback
frames only, never with their message: messages can quote request text.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf.message import DecodeError, Message

_log = logging.getLogger("theraguard.rpc")


class GuardError(Exception):
    """Base of the errors a caller may see; ``code`` is the gRPC status it maps to."""

    code = grpc.StatusCode.INTERNAL


class InvalidRequest(GuardError):
    """The request is malformed; the message names the field, what is wrong and the fix."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(GuardError):
    """The caller's deadline passed before the work could finish."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class JudgeUnavailable(GuardError):
    """The judge is not loaded/warmed yet, or its session failed."""

    code = grpc.StatusCode.UNAVAILABLE


class Overloaded(GuardError):
    """The bounded queue is full: the caller should back off and retry."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class UndecodableRequest:
    """Handed to a handler in place of request bytes that did not parse (see ``lenient_parser``).

    Holds the byte count and the parser's complaint, never the bytes.
    """

    def __init__(self, message_type: str, size: int, error: DecodeError) -> None:
        self.message_type = message_type
        self.size = size
        # upb's message repeats the type name; keep only what went wrong.
        self.reason = str(error).removeprefix(f"Error parsing message with type '{message_type}': ")

    def problem(self) -> str:
        return (
            f"request body is not a valid {self.message_type} protobuf: {self.reason}; serialize the "
            "request with proto/theraguard/v1/guardrail.proto"
        )


def lenient_parser(message_class: type[Message]) -> Callable[[bytes], Message | UndecodableRequest]:
    """A request deserializer that returns an UndecodableRequest instead of raising DecodeError.

    grpc answers an exception from a request deserializer itself, with UNKNOWN, before any handler
    runs; returning a stand-in lets ``rpc_errors`` refuse the call with INVALID_ARGUMENT instead.
    """
    name = message_class.DESCRIPTOR.full_name

    def parse(data: bytes) -> Message | UndecodableRequest:
        try:
            return message_class.FromString(data)
        except DecodeError as err:
            return UndecodableRequest(name, len(data), err)

    return parse


Request = TypeVar("Request")
Response = TypeVar("Response")
Handler = Callable[[Any, Request, grpc.aio.ServicerContext], Awaitable[Response]]


def rpc_errors(rpc: str) -> Callable[[Handler], Handler]:
    """Decorate a servicer method: map domain errors to status codes and report each call's outcome.

    The servicer instance must have ``admit(rpc)`` (raises Overloaded when too many calls are in
    flight) and ``observe_call(rpc, code, seconds, request, admitted)`` methods; ``request`` may be an
    UndecodableRequest (refused with INVALID_ARGUMENT, never admitted).
    """

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            admitted = False
            try:
                if isinstance(request, UndecodableRequest):  # refused before admission: it costs nothing
                    raise InvalidRequest(request.problem())
                self.admit(rpc)
                admitted = True
                return await handler(self, request, context)
            except GuardError as err:
                code = err.code
                await context.abort(code, str(err))
            except asyncio.CancelledError:
                # The caller went away or its deadline passed; grpc has already answered it.
                code = grpc.StatusCode.CANCELLED
                remaining = context.time_remaining()
                if remaining is not None and remaining <= 0:
                    code = grpc.StatusCode.DEADLINE_EXCEEDED
                raise
            except Exception as err:
                if isinstance(err, grpc.aio.AbortError):  # context.abort() already set the status
                    code = context.code() or grpc.StatusCode.UNKNOWN
                    raise
                code = grpc.StatusCode.INTERNAL
                frames = "".join(traceback.format_tb(err.__traceback__))
                _log.error(
                    "internal_error",
                    extra={"rpc": rpc, "error_type": type(err).__name__, "frames": frames},
                )
                await context.abort(code, f"internal error ({type(err).__name__}); see the sidecar logs")
            finally:
                self.observe_call(rpc, code, time.perf_counter() - started, request, admitted)

        return wrapper

    return decorate
