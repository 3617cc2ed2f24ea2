"""TLS and mTLS: a round trip with certificates generated in the test; no client cert -> refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from sidecar_harness import RunningSidecar, make_certificates, sidecar_config

from sidecar.client import GuardrailClient


@pytest.mark.parametrize("mutual", [False, True], ids=["tls", "mtls"])
def test_tls_round_trip(start_sidecar: Callable[..., RunningSidecar], tmp_path: Path, mutual: bool) -> None:
    certs = make_certificates(tmp_path / "certs")
    tls = {"cert_file": str(certs["server.pem"]), "key_file": str(certs["server.key"])}
    if mutual:
        tls["client_ca_file"] = str(certs["ca.pem"])
    running = start_sidecar(sidecar_config(tmp_path, server={"tls": tls}, batching={"max_batch_size": 4}))
    target = f"localhost:{running.port}"

    with GuardrailClient(target, root_certificates=certs["ca.pem"], private_key=certs["client.key"],
                         certificate_chain=certs["client.pem"]) as client:  # fmt: skip
        result = client.score([("user", "I feel lonely.")], "That sounds painful. What has been happening?")
        assert len(result.scores) == 7

    # Plaintext against a TLS port never works.
    with GuardrailClient(target, timeout=3) as plain, pytest.raises(grpc.RpcError) as caught:
        plain.score([], "hello")
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE

    # Without a client certificate: fine for TLS, refused for mTLS.
    with GuardrailClient(target, timeout=3, root_certificates=certs["ca.pem"]) as anonymous:
        if mutual:
            with pytest.raises(grpc.RpcError) as caught:
                anonymous.score([], "hello")
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        else:
            assert len(anonymous.score([], "hello").scores) == 7
