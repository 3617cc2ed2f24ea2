"""TLS against the real sidecar process: the chart's exec health check (kubelet gRPC probes cannot
speak TLS) and the Node.js client, both over mTLS."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import helm_python as helm
import pytest
import yaml
from sidecarproc import JUDGE_BUNDLE, REPO, SidecarProcess, SidecarStartError, running_sidecar

pytestmark = pytest.mark.slow  # a second sidecar process, with TLS

CHART = REPO / "helm" / "theraguard"
TLS_VALUES = {"tls": {"enabled": True, "secretName": "theraguard-tls", "clientAuth": True}}


def make_tls_secret(directory: Path) -> Path:
    """What a cert-manager Secret holds (ca.crt, tls.crt, tls.key): a throwaway CA and one certificate
    for the Service name and localhost, usable for server and client auth (mTLS probes need both)."""
    directory.mkdir(parents=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
            "-subj", "/CN=theraguard-test-ca")  # fmt: skip
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "tls.key",
        "-out",
        "tls.csr",
        "-subj",
        "/CN=theraguard",
    )
    (directory / "ext.cnf").write_text(
        "subjectAltName=DNS:demo-theraguard.chat.svc,DNS:localhost,IP:127.0.0.1\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
    )
    openssl("x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "tls.crt", "-days", "1", "-extfile", "ext.cnf")  # fmt: skip
    return directory


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shutil.which("openssl"):
        pytest.fail("the openssl command is needed to make test certificates")
    return make_tls_secret(tmp_path_factory.mktemp("tls") / "secret")


@pytest.fixture(scope="module")
def mtls_sidecar(tls_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SidecarProcess]:
    if not (JUDGE_BUNDLE / "manifest.json").is_file():
        pytest.fail(f"the default judge bundle {JUDGE_BUNDLE} is missing: build it with `make judge`")
    # The same file names and wiring the chart renders into theraguard.yaml.
    tls = {name: str(tls_dir / file) for name, file in
           (("cert_file", "tls.crt"), ("key_file", "tls.key"), ("client_ca_file", "ca.crt"))}  # fmt: skip
    try:
        with running_sidecar(tmp_path_factory.mktemp("mtls-sidecar"), tls=tls) as running:
            yield running
    except SidecarStartError as err:
        pytest.fail(str(err))


def rendered_healthcheck(values: dict, tls_dir: Path, tmp: Path) -> Path:
    """The chart's healthcheck.py, reading the Secret from tls_dir instead of /etc/theraguard/tls."""
    with helm.Chart.load(CHART) as chart:
        manifests = chart.render(values, name="demo", namespace="chat")
    config_map = next(d for d in yaml.safe_load_all(manifests["theraguard/templates/configmap.yaml"]) if d)
    script = config_map["data"]["healthcheck.py"]
    assert 'TLS = "/etc/theraguard/tls/"' in script
    path = tmp / "healthcheck.py"
    path.write_text(script.replace('TLS = "/etc/theraguard/tls/"', f'TLS = "{tls_dir}/"'))
    return path


@pytest.mark.parametrize(
    ("label", "tls_values", "rc", "output"),
    [
        ("mTLS, service name", {}, 0, "SERVING"),
        (
            "server name not in the certificate",
            {"serverName": "other.example.com"},
            1,
            "health check failed: UNAVAILABLE",
        ),
        ("no client certificate", {"clientAuth": False}, 1, "health check failed: UNAVAILABLE"),
    ],
)
def test_chart_tls_health_check_script(
    label: str,
    tls_values: dict,
    rc: int,
    output: str,
    tls_dir: Path,
    mtls_sidecar: SidecarProcess,
    tmp_path: Path,
) -> None:
    values = {"tls": {**TLS_VALUES["tls"], **tls_values}}
    script = rendered_healthcheck(values, tls_dir, tmp_path)
    result = subprocess.run(
        [sys.executable, str(script), mtls_sidecar.target],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == rc, (label, result.stdout, result.stderr)
    assert output in result.stdout + result.stderr, (label, result.stdout, result.stderr)


def test_health_check_script_fails_when_nothing_listens(tls_dir: Path, tmp_path: Path) -> None:
    script = rendered_healthcheck(TLS_VALUES, tls_dir, tmp_path)
    result = subprocess.run(
        [sys.executable, str(script), "127.0.0.1:9"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 1 and "UNAVAILABLE" in result.stderr


def test_node_client_over_mtls(tls_dir: Path, mtls_sidecar: SidecarProcess, node_client: Path) -> None:
    node = shutil.which("node")
    assert node
    port = mtls_sidecar.target.rsplit(":", 1)[1]
    common = [node, str(node_client / "bin" / "theraguard.js"), "guard", "--target", f"localhost:{port}",
              "--reply", "I'm here with you.", "--policy", "lenient", "--json", "--tls-ca", str(tls_dir / "ca.crt")]  # fmt: skip
    ok = subprocess.run(
        [*common, "--tls-cert", str(tls_dir / "tls.crt"), "--tls-key", str(tls_dir / "tls.key")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["action"] == "pass"
    refused = subprocess.run(common, capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 1 and "UNAVAILABLE" in refused.stderr
