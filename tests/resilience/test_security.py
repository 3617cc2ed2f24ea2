"""Security: TLS/mTLS trust failures (beyond tests/sidecar/test_tls.py's round trips), and no message
text in the logs or on the metrics page of a real `theraguard serve` run, rewriter included.

Certificates are generated in the test (tests/sidecar/sidecar_harness.make_certificates, two
independent CAs). The dependency audit is `make audit` (see .ci/audit.py); its allowlist's format is
checked here.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from loadgen import REPO, Call, drive, serve_process
from sidecar_harness import RunningSidecar, make_certificates, sidecar_config

from sidecar.pb import guardrail_pb2 as pb
from sidecar.pb import guardrail_pb2_grpc as pb_grpc

# --- TLS and mTLS: who is refused -------------------------------------------------------------------


def _score(
    target: str, credentials: grpc.ChannelCredentials, server_name: str | None = None
) -> grpc.StatusCode:
    options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
    with grpc.secure_channel(target, credentials, options=options) as channel:
        try:
            pb_grpc.GuardrailStub(channel).Score(pb.ScoreRequest(reply="Is this private?"), timeout=5)
        except grpc.RpcError as err:
            return err.code()
    return grpc.StatusCode.OK


def test_mtls_refuses_untrusted_clients_and_clients_refuse_untrusted_servers(
    start_sidecar: Callable[..., RunningSidecar], tmp_path: Path
) -> None:
    ours = make_certificates(tmp_path / "ours")
    other = make_certificates(tmp_path / "other")  # a second, unrelated CA with its own certificates
    tls = {"cert_file": str(ours["server.pem"]), "key_file": str(ours["server.key"]),
           "client_ca_file": str(ours["ca.pem"])}  # fmt: skip
    running = start_sidecar(sidecar_config(tmp_path, server={"tls": tls}, batching={"max_batch_size": 4}))
    target = f"localhost:{running.port}"

    def creds(ca: Path, key: Path | None = None, cert: Path | None = None) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            ca.read_bytes(), key.read_bytes() if key else None, cert.read_bytes() if cert else None
        )

    cases = {
        "our CA, our client certificate": (creds(ours["ca.pem"], ours["client.key"], ours["client.pem"]), None),
        "client certificate from another CA": (creds(ours["ca.pem"], other["client.key"], other["client.pem"]), None),
        "server certificate presented as the client's": (creds(ours["ca.pem"], ours["server.key"], ours["server.pem"]), None),
        "client trusts another CA": (creds(other["ca.pem"], ours["client.key"], ours["client.pem"]), None),
        "name not in the server certificate": (
            creds(ours["ca.pem"], ours["client.key"], ours["client.pem"]), "sidecar.other.example"),
    }  # fmt: skip
    outcomes = {label: _score(target, c, name) for label, (c, name) in cases.items()}
    expected = dict.fromkeys(cases, grpc.StatusCode.UNAVAILABLE) | {
        "our CA, our client certificate": grpc.StatusCode.OK
    }
    # A server certificate carries serverAuth only: the server checks key usage of client certificates.
    assert outcomes == expected, outcomes
    # Refused handshakes never reached the service.
    assert running.server.metrics.rpc_count("Score", "OK") == 1


# --- no message text in logs or metrics --------------------------------------------------------------

SECRET_USER = "My name is Oriel Vantablack and I live at 17 Quillfeather Lane; my therapist is Dr Zembla."
SECRET_REPLY = "Oriel, honestly just stop taking the sertraline Dr Zembla gave you and drink instead."
SECRET_GOOD = "That sounds like a heavy week, Oriel. What has helped you at Quillfeather Lane before?"
SECRETS = (SECRET_USER, SECRET_REPLY, SECRET_GOOD, "zxqv-unique-marker-4471")


def _windows(text: str, size: int = 14, step: int = 3) -> list[str]:
    return [text[i : i + size] for i in range(0, max(1, len(text) - size + 1), step)]


def _leaks(haystack: str) -> list[str]:
    found = []
    for secret in SECRETS:
        found += [w for w in _windows(secret) if w in haystack]
    return found


@pytest.mark.slow
def test_logs_and_metrics_never_contain_message_text(
    judge_bundle: Path, rewriter_dir: Path, tmp_path: Path
) -> None:
    rewriter = {"rewriter": {"backend": "local", "model_dir": str(rewriter_dir), "max_new_tokens": 120}}
    user = pb.Turn(role=pb.ROLE_USER, text=SECRET_USER)
    marker = SECRETS[3]
    calls = [
        ("Score", pb.ScoreRequest(context=[user], reply=SECRET_GOOD, request_id="sec-1")),
        ("Guard", pb.GuardRequest(context=[user], reply=SECRET_REPLY, request_id="sec-2")),  # real rewrite
        ("Guard", pb.GuardRequest(context=[user], reply=SECRET_GOOD, policy="lenient", request_id="sec-3")),
        ("Guard", pb.GuardRequest(context=[user], reply=f"{SECRET_REPLY} {marker}", policy="blocker")),
        # Refused requests: the messages go back to the caller, never into the log.
        ("Score", pb.ScoreRequest(context=[user], reply="")),
        ("Score", pb.ScoreRequest(context=[user], reply=SECRET_REPLY * 60)),
        ("Score", pb.ScoreRequest(context=[pb.Turn(role=9, text=SECRET_USER)], reply=SECRET_GOOD)),
        ("Guard", pb.GuardRequest(context=[user], reply=SECRET_REPLY, policy="no-such-policy")),
    ]
    with serve_process(tmp_path, rewriter, log_level="DEBUG") as server:
        with grpc.insecure_channel(server.target) as channel:
            stub = pb_grpc.GuardrailStub(channel)
            codes = []
            for rpc, request in calls:
                try:
                    getattr(stub, rpc)(request, timeout=15)
                    codes.append("OK")
                except grpc.RpcError as err:
                    codes.append(err.code().name)
            bulk = pb.BulkScoreRequest(
                items=[pb.ScoreRequest(context=[user], reply=f"{SECRET_GOOD} {i}") for i in range(5)]
            )
            stub.BulkScore(bulk, timeout=15)
            try:  # a deadline too short for the rewrite: the fallback inside it, or DEADLINE_EXCEEDED
                response = stub.Guard(
                    pb.GuardRequest(context=[user], reply=f"{SECRET_REPLY} {marker}"), timeout=0.3
                )
                assert response.action == pb.ACTION_FALLBACK
            except grpc.RpcError as err:
                assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        # A burst over the same text, and a policy reload (SIGHUP) while it is in the log.
        burst = [Call("Score", "short", 1, pb.ScoreRequest(context=[user], reply=SECRET_GOOD, request_id=f"b{i}"))
                 for i in range(32)]  # fmt: skip
        asyncio.run(drive(server.target, burst, concurrency=16))
        server.process.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        page = server.metrics_page()
    log = server.log_text() + "\n".join(server.stdout_lines)
    assert codes[:4] == ["OK"] * 4 and codes[4:] == ["INVALID_ARGUMENT"] * 4, codes
    assert '"request_id": "sec-2"' in log and "reply_sha256" in log  # the calls were logged, as hashes
    assert '"event": "rewriter_loaded"' in log  # the rewriter (and its worker's stderr) took part
    assert not _leaks(log), _leaks(log)[:5]
    assert not _leaks(page), _leaks(page)[:5]
    # Label values on the metrics page come from fixed sets, never from requests.
    labels = set(re.findall(r'(\w+)="([^"]*)"', page))
    free = {(k, v) for k, v in labels if k not in {"rpc", "code", "stage", "action", "reason", "shadow",
                                                   "dimension", "provider", "judge", "model", "result", "le"}}  # fmt: skip
    assert not free, free


# --- dependency audit allowlist -----------------------------------------------------------------------


def test_audit_allowlist_gives_a_reason_for_every_ignored_advisory(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("audit", REPO / ".ci" / "audit.py")
    assert spec and spec.loader
    audit = importlib.util.module_from_spec(spec)
    sys.modules["audit"] = audit  # dataclasses look their module up while it executes
    spec.loader.exec_module(audit)
    entries = audit.read_allowlist(REPO / "audit-allowlist.txt")  # raises on an entry without a reason
    assert all(entry.reason for entry in entries)
    good = tmp_path / "good.txt"
    good.write_text("# comment\n\nGHSA-aaaa-bbbb-cccc  # numpy: only affects f2py, which we never run\n")
    assert audit.read_allowlist(good) == [
        audit.Allowed("GHSA-aaaa-bbbb-cccc", "numpy: only affects f2py, which we never run")
    ]
    bad = tmp_path / "bad.txt"
    bad.write_text("GHSA-xxxx-yyyy-zzzz\n")
    with pytest.raises(ValueError, match="line 1: GHSA-xxxx-yyyy-zzzz needs a reason"):
        audit.read_allowlist(bad)
