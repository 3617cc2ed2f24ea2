"""Sidecar config: the shipped file loads; every bad value is rejected with a message naming it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from sidecar.config import ConfigError, config_from_dict, load_config

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config" / "theraguard.yaml"


def test_shipped_config_loads_with_paths_resolved_against_the_file() -> None:
    config = load_config(SHIPPED)
    assert config.judge.bundle == REPO / "models" / "judge"
    assert config.policy_file == REPO / "config" / "policy.yaml"
    assert config.rewriter.model_dir == REPO / "models" / "rewriter"
    assert config.judge.providers == ("tensorrt", "cuda", "cpu")
    assert config.judge.batching.max_batch_size == 32 and config.server.grace_seconds == 10
    assert not config.server.tls.enabled and config.rewriter.openai.api_key_env == "OPENAI_API_KEY"


def _raw() -> dict:
    return yaml.safe_load(SHIPPED.read_text())


BAD_CONFIGS = [
    ("unknown_top_key", lambda c: c.update(sever={}), "unknown key sever"),
    ("unknown_nested_key", lambda c: c["judge"]["batching"].update(max_batch=8), "unknown key judge.batching.max_batch"),
    ("bad_address", lambda c: c["server"].update(address="localhost"), "server.address must be HOST:PORT"),
    ("port_out_of_range", lambda c: c["server"].update(address="0.0.0.0:70000"), "port in [0, 65535]"),
    ("bad_metrics_address", lambda c: c["server"].update(metrics_address="9464"), "server.metrics_address must be HOST:PORT"),
    ("zero_concurrency", lambda c: c["server"].update(max_concurrent_calls=0), "server.max_concurrent_calls must be an integer >= 1 (got: 0)"),
    ("negative_grace", lambda c: c["server"].update(grace_seconds=-1), "server.grace_seconds must be in [0, 300]"),
    ("cert_without_key", lambda c: c["server"]["tls"].update(cert_file="cert.pem"), "must be set together"),
    ("missing_cert_file", lambda c: c["server"]["tls"].update(cert_file="nope.pem", key_file="nope.key"), "is not a readable file"),
    ("mtls_without_tls", lambda c: c["server"]["tls"].update(client_ca_file="ca.pem"), "client_ca_file (mTLS) needs"),
    ("limit_not_int", lambda c: c["limits"].update(max_turns="20"), "limits.max_turns must be an integer (got: '20')"),
    ("limit_zero", lambda c: c["limits"].update(max_reply_chars=0), "limits.max_reply_chars must be an integer >= 1"),
    ("bool_as_int", lambda c: c["limits"].update(max_bulk_items=True), "limits.max_bulk_items must be an integer"),
    ("unknown_provider", lambda c: c["judge"].update(providers=["tensorrt", "rocm"]), "unknown provider 'rocm'"),
    ("no_providers", lambda c: c["judge"].update(providers=[]), "judge.providers must list at least one"),
    ("require_gpu_cpu_only", lambda c: c["judge"].update(providers=["cpu"], require_gpu=True), "judge.require_gpu is true but judge.providers is [cpu]"),
    ("require_gpu_not_bool", lambda c: c["judge"].update(require_gpu="yes"), "judge.require_gpu must be true or false"),
    ("missing_bundle", lambda c: c["judge"].pop("bundle"), "judge.bundle is required"),
    ("batch_zero", lambda c: c["judge"]["batching"].update(max_batch_size=0), "judge.batching.max_batch_size must be an integer >= 1"),
    ("wait_negative", lambda c: c["judge"]["batching"].update(max_wait_ms=-2), "judge.batching.max_wait_ms must be in [0, 1000]"),
    ("bulk_bigger_than_queue", lambda c: c["judge"]["batching"].update(max_queue=100), "limits.max_bulk_items (256) must be <= judge.batching.max_queue (100)"),
    ("unknown_backend", lambda c: c["rewriter"].update(backend="llama"), "rewriter.backend must be one of ['local', 'openai', 'none']"),
    ("openai_without_url", lambda c: c["rewriter"].update(backend="openai"), "set rewriter.openai.base_url and rewriter.openai.model"),
    ("openai_bad_url", lambda c: c["rewriter"]["openai"].update(base_url="vllm:8000"), "must start with http:// or https://"),
    ("api_key_in_config", lambda c: c["rewriter"]["openai"].update(api_key_env="sk-abc123-secret"), "must be an environment variable NAME"),
    ("tokens_zero", lambda c: c["rewriter"].update(max_new_tokens=0), "rewriter.max_new_tokens must be an integer >= 1"),
    ("missing_policy_file", lambda c: c.pop("policy_file"), "policy_file is required"),
    ("section_not_mapping", lambda c: c.update(limits=[1, 2]), "limits must be a mapping"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "message"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_invalid_config_is_rejected_naming_the_key(
    change: Callable[[dict], None], message: str, tmp_path: Path
) -> None:
    raw = _raw()
    change(raw)
    with pytest.raises(ConfigError) as caught:
        config_from_dict(raw, base=tmp_path)
    assert message in str(caught.value)


def test_load_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "server: {address: nowhere}\njudge: {bundle: x}\nrewriter: {backend: none}\npolicy_file: p.yaml\n"
    )
    with pytest.raises(ConfigError, match=re.escape(f"{path}: server.address must be HOST:PORT")):
        load_config(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    path.write_text("server: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_cli_overrides_are_validated_too() -> None:
    config = load_config(SHIPPED)
    assert config.with_overrides(address="127.0.0.1:0", metrics_address="").server.metrics_address == ""
    with pytest.raises(ConfigError, match="server.address"):
        config.with_overrides(address="nowhere")
