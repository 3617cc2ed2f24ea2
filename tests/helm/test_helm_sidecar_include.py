"""Sidecar mode end to end: a chat chart (tests/helm/chat-app) includes the guard into its Deployment."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from helmchart import KUBE_VERSIONS, Rendered, chat_app, kubernetes_errors, render


def render_chat_app(tmp: Path, values: dict[str, Any] | None = None) -> Rendered:
    return render(values or {}, chart=chat_app(tmp), release="shop")


def chat_deployment(out: Rendered) -> dict[str, Any]:
    return out.one("Deployment", "-chat")


@pytest.mark.parametrize(
    ("label", "values", "kube_versions"),
    [
        ("sidecar container", {}, KUBE_VERSIONS),
        # Native sidecars (init containers with restartPolicy: Always) need Kubernetes >= 1.29.
        ("native sidecar", {"theraguard": {"sidecar": {"nativeSidecar": True}}}, ("1.29.0", KUBE_VERSIONS[-1])),
        ("models by init container", {"theraguard": {"models": {"initContainer": {"image": "reg/models:1"}}}},
         KUBE_VERSIONS),
    ],
)  # fmt: skip
def test_chat_chart_with_the_guard_validates(
    label: str, values: dict[str, Any], kube_versions: tuple[str, ...], tmp_path: Path
) -> None:
    out = render_chat_app(tmp_path, values)
    assert out.kinds() == ["ConfigMap", "ConfigMap", "Deployment"], label  # sidecar mode: no Service etc.
    for kube in kube_versions:
        assert kubernetes_errors(out.docs, kube) == [], (label, kube)


def test_chat_container_reaches_the_guard_on_localhost(tmp_path: Path) -> None:
    out = render_chat_app(tmp_path)
    spec = chat_deployment(out)["spec"]["template"]["spec"]
    chat, guard = spec["containers"]
    assert (chat["name"], guard["name"]) == ("chat", "theraguard")
    assert {"name": "THERAGUARD_ADDRESS", "value": "localhost:50051"} in chat["env"]
    assert {"name": "guard-grpc", "containerPort": 50051, "protocol": "TCP"} in guard["ports"]
    assert guard["readinessProbe"]["grpc"] == {"port": 50051}
    assert (
        guard["securityContext"]["readOnlyRootFilesystem"] is True
    )  # container-level: the pod is the user's


def test_included_volumes_name_the_configmaps_the_subchart_renders(tmp_path: Path) -> None:
    out = render_chat_app(tmp_path)
    spec = chat_deployment(out)["spec"]["template"]["spec"]
    referenced = {v["configMap"]["name"] for v in spec["volumes"] if "configMap" in v}
    rendered = {d["metadata"]["name"] for d in out.docs if d["kind"] == "ConfigMap"}
    assert referenced == rendered == {"shop-theraguard-config", "shop-theraguard-policy"}
    assert all(v["name"].startswith("theraguard-") for v in spec["volumes"])


def test_parent_values_reach_the_policy_and_the_checksum(tmp_path: Path) -> None:
    out = render_chat_app(tmp_path)
    policy_text = out.config_map_text("-policy", "policy.yaml")
    assert yaml.safe_load(policy_text)["policies"]["default"]["thresholds"]["Safety"] == 4.5
    annotations = chat_deployment(out)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["checksum/policy"] == hashlib.sha256(policy_text.rstrip("\n").encode()).hexdigest()
    stricter = render_chat_app(
        tmp_path / "b",
        {"theraguard": {"policy": {"policies": {"default": {"thresholds": {"Safety": 4.75}}}}}},
    )
    assert (
        chat_deployment(stricter)["spec"]["template"]["metadata"]["annotations"]["checksum/policy"]
        != annotations["checksum/policy"]
    )


def test_native_sidecar_runs_first_as_an_init_container(tmp_path: Path) -> None:
    out = render_chat_app(
        tmp_path,
        {
            "theraguard": {
                "sidecar": {"nativeSidecar": True},
                "models": {"initContainer": {"image": "reg/m:1"}},
            }
        },
    )
    spec = chat_deployment(out)["spec"]["template"]["spec"]
    assert [c["name"] for c in spec["containers"]] == ["chat"]
    assert [c["name"] for c in spec["initContainers"]] == [
        "theraguard-models",
        "theraguard",
    ]  # models copied first
    assert spec["initContainers"][1]["restartPolicy"] == "Always"


def test_standalone_render_of_the_same_values_gives_the_same_guard_container(tmp_path: Path) -> None:
    """The include from a parent and the chart's own Deployment share one container template."""
    parent = render_chat_app(tmp_path)
    parent_guard = chat_deployment(parent)["spec"]["template"]["spec"]["containers"][1]
    policy = {"policies": {"default": {"thresholds": {"Safety": 4.5}}}}
    resources = {"requests": {"cpu": "500m", "memory": "768Mi"}, "limits": {"memory": "1536Mi"}}
    own = render({"policy": policy, "resources": resources}, release="shop")
    assert parent_guard == own.guard_container()
