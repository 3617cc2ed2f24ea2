"""The gRPC server's lifecycle: create and bind, load and warm the judge, serve, shut down gracefully.

``create_server(config)`` builds and binds (tests use port 0) without loading anything heavy; the
health service says NOT_SERVING until ``load()`` has loaded and warmed the judge, then SERVING.
``stop()`` flips health to NOT_SERVING, stops accepting calls and lets in-flight ones finish within
the grace period. Signals are wired by ``serve()`` in cli.py, not here, so tests can run servers in
any thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from sidecar.batcher import MicroBatcher
from sidecar.config import SidecarConfig, parse_address
from sidecar.guard import Guard, build_rewrite_runner
from sidecar.judge import Judge
from sidecar.metrics import Metrics, MetricsEndpoint
from sidecar.pb import guardrail_pb2
from sidecar.policy import PolicyStore
from sidecar.rewrite.api import RewriteRunner
from sidecar.service import GuardrailServicer, add_guardrail_to_server

_log = logging.getLogger("theraguard.server")
SERVICE_NAME = guardrail_pb2.DESCRIPTOR.services_by_name["Guardrail"].full_name
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
# How often a failed judge is probed for recovery.
_PROBE_SECONDS = 1.0


class SidecarServer:
    """One sidecar: the grpc.aio server plus the judge, batcher, policies and metrics behind it."""

    def __init__(self, config: SidecarConfig, metrics: Metrics, runner: RewriteRunner | None = None) -> None:
        self.config = config
        self.metrics = metrics
        self.policies = PolicyStore(
            config.policy_file, on_reload=lambda r: metrics.policy_reloads.labels(r).inc()
        )
        self.health = HealthServicer()
        self.servicer = GuardrailServicer(config.limits, metrics, config.server.max_concurrent_calls)
        # The servicer enforces max_concurrent_calls for Guardrail calls (so health checks still answer
        # under overload); grpc's own limit is only a backstop against floods of other calls.
        self.grpc = grpc.aio.server(
            options=_channel_options(config),
            maximum_concurrent_rpcs=2 * config.server.max_concurrent_calls + 64,
        )
        add_guardrail_to_server(self.servicer, self.grpc)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.grpc)
        reflection.enable_server_reflection(
            (
                SERVICE_NAME,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ),
            self.grpc,
        )
        self.port = _bind(self.grpc, config)
        self.host = parse_address("server.address", config.server.address)[0]
        self.judge: Judge | None = None
        self.metrics_endpoint: MetricsEndpoint | None = None
        self._runner = runner
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="theraguard-judge")
        self._batcher: MicroBatcher | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._probe: asyncio.Task[None] | None = None
        self._serving = False
        self._stopping = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def serving(self) -> bool:
        return self._serving

    async def start(self) -> None:
        """Accept calls (health: NOT_SERVING until ``load``) and expose /metrics."""
        for service in ("", SERVICE_NAME):
            await self.health.set(service, _NOT_SERVING)
        if self.config.server.metrics_address:
            try:
                self.metrics_endpoint = self.metrics.serve(self.config.server.metrics_address)
            except OSError as err:
                raise RuntimeError(
                    f"cannot serve metrics on {self.config.server.metrics_address} (server.metrics_address): "
                    f"{err.strerror}"
                ) from None
        await self.grpc.start()
        _log.info("server_started", extra={"address": self.address, "tls": self.config.server.tls.enabled})

    async def load(self) -> float:
        """Load and warm the judge, build the rewrite runner, then report SERVING; return seconds taken."""
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        judge_config = self.config.judge
        # Off the event loop (health checks keep answering NOT_SERVING meanwhile); the judge and the
        # rewriter model load side by side.
        building = (
            asyncio.to_thread(build_rewrite_runner, self.config.rewriter)
            if self._runner is None
            else _ready(self._runner)
        )
        rewriter_task = asyncio.ensure_future(building)
        try:
            self.judge = await loop.run_in_executor(self._executor, Judge.load, judge_config)
            await loop.run_in_executor(
                self._executor, self.judge.warm_up, judge_config.batching.max_batch_size
            )
        except BaseException:
            rewriter_task.cancel()
            raise
        runner = await rewriter_task
        self._batcher = MicroBatcher(
            self.judge,
            judge_config.batching,
            self._executor,
            on_batch=self.metrics.observe_batch,
            on_judge_result=self._judge_result,
        )
        self._batcher.start()
        guard = Guard(
            self._batcher,
            self.policies,
            runner,
            judge_version=self.judge.version,
            execution_provider=self.judge.provider,
            on_judge_directed=self.metrics.judge_directed_replies.inc,
        )
        self.servicer.attach(guard)
        self.metrics.provider.labels(self.judge.provider, self.judge.version, self.judge.plan.model_kind).set(
            1
        )
        self._tasks.append(loop.create_task(self.policies.watch(), name="theraguard-policy-watch"))
        await self._set_serving(True)
        taken = time.perf_counter() - started
        _log.info(
            "serving",
            extra={"address": self.address, "load_seconds": round(taken, 3), "provider": self.judge.provider},
        )
        return taken

    async def stop(self, grace: float | None = None) -> None:
        """Graceful shutdown: NOT_SERVING, refuse new calls, finish in-flight ones within ``grace``."""
        if self._stopping:
            return
        self._stopping = True
        grace = self.config.server.grace_seconds if grace is None else grace
        _log.info("shutting_down", extra={"grace_seconds": grace})
        await self.health.enter_graceful_shutdown()
        self.metrics.ready.set(0)
        await self.grpc.stop(grace)
        for task in [*self._tasks, *([self._probe] if self._probe else [])]:
            task.cancel()
        if self._batcher is not None:
            await self._batcher.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self.metrics_endpoint is not None:
            self.metrics_endpoint.close()
        _log.info("stopped")

    async def wait_for_termination(self) -> None:
        await self.grpc.wait_for_termination()

    def reload_policies(self) -> bool:
        """Re-read the policy file now (SIGHUP); the old policies stay when the new file is invalid."""
        return self.policies.reload()

    async def _set_serving(self, serving: bool) -> None:
        if self._stopping:
            return
        self._serving = serving
        status = _SERVING if serving else _NOT_SERVING
        for service in ("", SERVICE_NAME):
            await self.health.set(service, status)
        self.metrics.ready.set(1 if serving else 0)

    def _judge_result(self, ok: bool) -> None:
        """The batcher's report after each run: a failed session takes us out of rotation until it recovers."""
        if ok and not self._serving and self.judge is not None:
            asyncio.get_running_loop().create_task(self._set_serving(True))
            _log.info("judge_recovered")
        elif not ok and self._serving:
            asyncio.get_running_loop().create_task(self._set_serving(False))
            if self._probe is None or self._probe.done():
                self._probe = asyncio.get_running_loop().create_task(self._probe_judge())

    async def _probe_judge(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._serving and not self._stopping and self.judge is not None:
            await asyncio.sleep(_PROBE_SECONDS)
            try:
                await loop.run_in_executor(self._executor, self.judge.warm_up, 1)
            except Exception as err:  # noqa: BLE001 - still down; try again
                _log.warning("judge_probe_failed", extra={"error_type": type(err).__name__})
                continue
            self._judge_result(True)


async def _ready(runner: RewriteRunner) -> RewriteRunner:
    return runner


def create_server(config: SidecarConfig, *, metrics: Metrics | None = None,
                  runner: RewriteRunner | None = None) -> tuple[SidecarServer, int]:  # fmt: skip
    """Build and bind the server (call from inside the event loop); return it and the bound port.

    Nothing heavy is loaded: call ``await server.start()`` then ``await server.load()``. An invalid
    policy file raises ConfigError here; a bind failure raises RuntimeError naming the address.
    ``runner`` replaces the configured rewrite runner (tests, embedding).
    """
    server = SidecarServer(config, metrics or Metrics(), runner)
    return server, server.port


def _bind(server: grpc.aio.Server, config: SidecarConfig) -> int:
    address = config.server.address
    tls = config.server.tls
    try:
        if tls.cert_file is not None and tls.key_file is not None:  # TLSConfig checks they come together
            credentials = grpc.ssl_server_credentials(
                [(tls.key_file.read_bytes(), tls.cert_file.read_bytes())],
                root_certificates=tls.client_ca_file.read_bytes() if tls.client_ca_file else None,
                require_client_auth=tls.mutual,
            )
            port = server.add_secure_port(address, credentials)
        else:
            port = server.add_insecure_port(address)
    except RuntimeError as err:
        raise RuntimeError(f"cannot listen on {address} (server.address): {err}") from None
    if port == 0:
        raise RuntimeError(f"cannot listen on {address} (server.address): is the port in use?")
    return port


def _channel_options(config: SidecarConfig) -> list[tuple[str, int]]:
    limits = config.limits
    # Room for the largest valid BulkScore (4 bytes per char worst case) so an oversize call gets our
    # INVALID_ARGUMENT rather than grpc's generic RESOURCE_EXHAUSTED; capped to bound memory.
    largest_call = (limits.max_turns * limits.max_turn_chars + limits.max_reply_chars) * 4 + 4096
    receive = min(max(largest_call * limits.max_bulk_items, 4 << 20), 256 << 20)
    return [
        ("grpc.so_reuseport", 0),  # a second sidecar on the same port must fail, not share it
        ("grpc.max_receive_message_length", receive),
        ("grpc.max_send_message_length", 64 << 20),
    ]
