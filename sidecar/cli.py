"""The ``theraguard`` command: ``serve`` the sidecar, or ``score`` / ``guard`` one reply against one.

``serve`` prints exactly one line to stdout once the health service reports SERVING:
``theraguard: serving on HOST:PORT (metrics on HOST:PORT)`` with the real bound ports, so scripts can
start it on port 0 and read the port. Everything else (JSON logs) goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import grpc

from sidecar import logs
from sidecar.config import ConfigError, SidecarConfig, load_config
from sidecar.domain import DIMENSIONS, Role, Turn
from sidecar.judge import JudgeLoadError

EXIT_CONFIG = 2  # bad config, bundle or policy: fix and restart
EXIT_RPC = 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


# --- serve --------------------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    started = time.monotonic()
    logs.configure(args.log_level)
    try:
        config = load_config(args.config).with_overrides(
            address=args.address, metrics_address=args.metrics_address
        )
    except ConfigError as err:
        return _fail(str(err))
    return asyncio.run(serve(config, started=started))


async def serve(config: SidecarConfig, *, started: float | None = None) -> int:
    """Run the sidecar until SIGTERM/SIGINT; SIGHUP reloads the policy file. Returns the exit code."""
    from sidecar.server import create_server

    started = time.monotonic() if started is None else started
    loop = asyncio.get_running_loop()
    try:
        server, _port = create_server(config)
    except (ConfigError, RuntimeError) as err:
        return _fail(str(err))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, server.reload_policies)
    try:
        await server.start()
    except RuntimeError as err:
        await server.stop(grace=0)
        return _fail(str(err))
    loading = loop.create_task(server.load())
    stopping = loop.create_task(stop.wait())
    await asyncio.wait({loading, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if loading.done():
        error = loading.exception()
        if error is not None:
            await server.stop(grace=0)
            stopping.cancel()
            if isinstance(
                error, ValueError | JudgeLoadError
            ):  # bundle, config, rewriter model: fix and restart
                return _fail(str(error))
            raise error
        server.metrics.startup_seconds.set(time.monotonic() - started)
        endpoint = server.metrics_endpoint
        metrics = f"metrics on {endpoint.host}:{endpoint.port}" if endpoint else "metrics off"
        print(f"theraguard: serving on {server.address} ({metrics})", flush=True)
        await stopping
    else:
        loading.cancel()
    await server.stop()
    return 0


# --- score / guard -------------------------------------------------------------------------------------


def _call(args: argparse.Namespace) -> int:
    from sidecar.client import GuardrailClient

    try:
        context = [_parse_turn(text) for text in args.context]
        overrides = dict(_parse_override(text) for text in args.override)
    except ValueError as err:
        return _fail(str(err))
    client = GuardrailClient(
        args.target,
        timeout=args.timeout,
        root_certificates=args.tls_ca,
        private_key=args.tls_key,
        certificate_chain=args.tls_cert,
        server_name=args.tls_server_name,
    )
    with client:
        try:
            if args.command == "score":
                result = client.score(
                    context, args.reply, policy=args.policy, overrides=overrides, request_id=args.request_id
                )
            else:
                result = client.guard(
                    context, args.reply, policy=args.policy, overrides=overrides, request_id=args.request_id
                )
        except grpc.RpcError as err:
            return _fail(f"{err.code().name}: {err.details()}", code=EXIT_RPC)
    if args.json:
        print(json.dumps(_as_json(result), indent=2, ensure_ascii=False))
        return 0
    if args.command == "guard":
        shadow = (
            f" (shadow: would be {result.shadow_action.value})"
            if result.shadow and result.shadow_action
            else ""
        )
        print(f"action: {result.action.value}{shadow}  reason: {result.reason}")
        print(f"reply: {result.reply}")
        if result.shadow_reply:
            print(f"shadow reply: {result.shadow_reply}")
        scores, after = result.scores_before, {s.dimension: s for s in result.scores_after}
    else:
        scores, after = result.scores, {}
    print(
        f"{'dimension':<16}{'score':>7}{'threshold':>11}  verdict{'':<14}{'after rewrite' if after else ''}"
    )
    for s in scores:
        verdict = ("pass" if s.passed else "FAIL") + (" (critical)" if s.critical else "")
        rescored = (
            f"{after[s.dimension].score:.2f} {'pass' if after[s.dimension].passed else 'FAIL'}"
            if after
            else ""
        )
        print(f"{s.dimension:<16}{s.score:>7.2f}{s.threshold:>11.2f}  {verdict:<21}{rescored}")
    print(
        f"judge: {result.versions.judge}  policy: {result.versions.policy}  provider: {result.versions.execution_provider}"
    )
    return 0


def _parse_turn(text: str) -> Turn:
    role, sep, body = text.partition(":")
    role = role.strip().lower()
    if not sep or role not in {r.value for r in Role}:
        raise ValueError(f"--context must look like 'user: text' or 'assistant: text' (got: {text[:40]!r})")
    return Turn(Role(role), body.strip())


def _parse_override(text: str) -> tuple[str, float]:
    dim, sep, value = text.partition("=")
    if not sep or dim not in DIMENSIONS:
        raise ValueError(
            f"--override must look like Dimension=VALUE with one of {', '.join(DIMENSIONS)} (got: {text!r})"
        )
    try:
        return dim, float(value)
    except ValueError:
        raise ValueError(f"--override {dim}: {value!r} is not a number") from None


def _as_json(result: object) -> object:
    from dataclasses import asdict

    return asdict(result)  # type: ignore[call-overload]


# --- plumbing ------------------------------------------------------------------------------------------


def _fail(message: str, code: int = EXIT_CONFIG) -> int:
    print(f"theraguard: error: {message}", file=sys.stderr, flush=True)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="theraguard", description="TheraGuard guardrail sidecar")
    sub = parser.add_subparsers(dest="command", required=True)

    serve_p = sub.add_parser("serve", help="run the sidecar")
    serve_p.add_argument(
        "--config", type=Path, required=True, help="config YAML (e.g. config/theraguard.yaml)"
    )
    serve_p.add_argument("--address", help="override server.address, HOST:PORT (port 0 = any free port)")
    serve_p.add_argument("--metrics-address", help='override server.metrics_address, HOST:PORT ("" disables)')
    serve_p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    serve_p.set_defaults(func=_serve)

    for name, help_text in (("score", "score one reply"), ("guard", "guard one reply (what to send)")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--target", default="localhost:50051", help="sidecar HOST:PORT")
        p.add_argument("--context", action="append", default=[], metavar="'ROLE: TEXT'",
                       help="a context turn, oldest first; repeat for more ('user: ...' or 'assistant: ...')")  # fmt: skip
        p.add_argument("--reply", required=True, help="the chatbot reply to judge")
        p.add_argument("--policy", default="", help="named policy (default: the file's default_policy)")
        p.add_argument(
            "--override", action="append", default=[], metavar="DIM=VALUE", help="threshold override"
        )
        p.add_argument("--request-id", default="", help="correlation id (logged; never the text)")
        p.add_argument("--timeout", type=float, default=10.0, help="deadline in seconds")
        p.add_argument("--tls-ca", type=Path, help="CA (PEM) for a TLS sidecar")
        p.add_argument("--tls-cert", type=Path, help="client certificate (PEM) for mTLS")
        p.add_argument("--tls-key", type=Path, help="client key (PEM) for mTLS")
        p.add_argument("--tls-server-name", help="expected server name when it differs from the target host")
        p.add_argument("--json", action="store_true", help="print the full result as JSON")
        p.set_defaults(func=_call)
    return parser


if __name__ == "__main__":
    sys.exit(main())
