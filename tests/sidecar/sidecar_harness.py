"""Test harness: a real sidecar on its own event loop thread, and test configs (port 0, real judge).

Each server runs on its own asyncio loop in a background thread, so tests talk to it over a real gRPC
channel with the ordinary synchronous client, exactly as a chat service would.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import grpc

from sidecar.config import SidecarConfig, config_from_dict
from sidecar.pb import guardrail_pb2_grpc as pb_grpc
from sidecar.rewrite.api import RewriteRunner
from sidecar.server import SidecarServer, create_server

REPO = Path(__file__).resolve().parents[2]
# The default judge bundle; THERAGUARD_TEST_BUNDLE runs the suite against another one (a fresh export).
JUDGE_BUNDLE = Path(os.environ.get("THERAGUARD_TEST_BUNDLE") or REPO / "models" / "judge")
POLICY_FILE = REPO / "config" / "policy.yaml"
T = TypeVar("T")


class RunningSidecar:
    """A sidecar on a private event loop thread; ``run`` executes a coroutine there."""

    def __init__(
        self, config: SidecarConfig, *, load: bool = True, runner: RewriteRunner | None = None
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sidecar-loop", daemon=True)
        self._thread.start()

        async def build() -> SidecarServer:
            server, _ = create_server(config, runner=runner)
            await server.start()
            return server

        self.server: SidecarServer = self.run(build())
        self.port = self.server.port
        self.target = f"127.0.0.1:{self.port}"
        if load:
            self.run(self.server.load())

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.target)

    def stub(self) -> pb_grpc.GuardrailStub:
        return pb_grpc.GuardrailStub(self.channel())

    def close(self, grace: float = 1.0) -> None:
        if self._loop.is_closed():
            return
        try:
            self.run(self.server.stop(grace))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()


def sidecar_config(
    tmp: Path,
    *,
    policy: Path = POLICY_FILE,
    server: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
    judge: dict[str, Any] | None = None,
    batching: dict[str, Any] | None = None,
) -> SidecarConfig:
    """A test config: loopback on port 0, the real judge, a private copy of the policy file in ``tmp``."""
    tmp.mkdir(parents=True, exist_ok=True)
    policy_copy = tmp / "policy.yaml"
    if policy != policy_copy:
        shutil.copyfile(policy, policy_copy)
    raw = {
        "server": {
            "address": "127.0.0.1:0",
            "metrics_address": "127.0.0.1:0",
            "grace_seconds": 5,
            **(server or {}),
        },
        "limits": limits or {},
        "judge": {
            "bundle": str(JUDGE_BUNDLE),
            "providers": ["cpu"],
            **(judge or {}),
            "batching": {"max_batch_size": 32, "max_wait_ms": 2, "max_queue": 1024, **(batching or {})},
        },
        "rewriter": {"backend": "none"},
        "policy_file": str(policy_copy),
    }
    return config_from_dict(raw, base=tmp)


def make_certificates(directory: Path) -> dict[str, Path]:
    """A throwaway CA, a server certificate for localhost/127.0.0.1 and a client certificate (PEM files).

    Uses the ``cryptography`` package when installed, else the openssl command line.
    """
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return _certificates_openssl(directory)
    return _certificates_cryptography(directory)


def _certificates_openssl(directory: Path) -> dict[str, Path]:
    import subprocess

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
        "-subj", "/CN=theraguard-test-ca")  # fmt: skip
    for name, usage in (("server", "serverAuth"), ("client", "clientAuth")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN=theraguard-test-{name}")  # fmt: skip
        ext = directory / f"{name}.ext"
        ext.write_text(f"subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage={usage}\n")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "1", "-extfile", ext.name)  # fmt: skip
    return {
        name: directory / name for name in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")
    }


def _certificates_cryptography(directory: Path) -> dict[str, Path]:  # pragma: no cover - when installed
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(name("theraguard-test-ca")).issuer_name(name("theraguard-test-ca"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for who, usage in (
        ("server", ExtendedKeyUsageOID.SERVER_AUTH),
        ("client", ExtendedKeyUsageOID.CLIENT_AUTH),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder().subject_name(name(f"theraguard-test-{who}")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )  # fmt: skip
        (directory / f"{who}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        write_key(key, directory / f"{who}.key")
    return {n: directory / n for n in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")}
