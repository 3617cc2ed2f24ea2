"""The chart renders, lints and validates for every scenario, and its important parts are right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml
from helmchart import (
    CHART,
    KUBE_VERSIONS,
    SCENARIOS,
    Rendered,
    chart_without_schema,
    kubernetes_errors,
    merged,
    render,
    scenario_values,
    validate_schema,
)

from sidecar.config import config_from_dict
from sidecar.domain import DIMENSIONS
from sidecar.policy import FailureAction, parse_policies

ALL_SCENARIOS = ["default", *SCENARIOS]
STANDALONE = [
    "ConfigMap",
    "ConfigMap",
    "Deployment",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "Service",
    "ServiceAccount",
]
EXPECTED_KINDS = {
    "default": STANDALONE,
    "sidecar": ["ConfigMap", "ConfigMap"],
    "gpu": STANDALONE,
    "standalone-hpa": sorted([*STANDALONE, "HorizontalPodAutoscaler", "ServiceMonitor"]),
    "tls": STANDALONE,
}
RENDERED: dict[str, Rendered] = {}


def rendered(scenario: str) -> Rendered:
    """Each scenario rendered once per session."""
    if scenario not in RENDERED:
        RENDERED[scenario] = render(scenario_values(scenario))
    return RENDERED[scenario]


def config_of(out: Rendered) -> dict[str, Any]:
    return yaml.safe_load(out.config_map_text("-config", "theraguard.yaml"))


def test_every_scenario_is_covered() -> None:
    assert set(SCENARIOS) == set(EXPECTED_KINDS) - {"default"}, (
        "add the new ci/*-values.yaml to EXPECTED_KINDS"
    )


# --- render, schema, lint, Kubernetes validation ------------------------------------------------------


@pytest.mark.parametrize("scenario", ALL_SCENARIOS)
def test_scenario_renders_the_expected_resources(scenario: str) -> None:
    validate_schema(scenario_values(scenario))
    assert rendered(scenario).kinds() == EXPECTED_KINDS[scenario]


@pytest.mark.parametrize("scenario", ALL_SCENARIOS)
@pytest.mark.parametrize("kube", KUBE_VERSIONS)
def test_manifests_validate_against_kubernetes_schemas(scenario: str, kube: str) -> None:
    assert kubernetes_errors(rendered(scenario).docs, kube) == []


@pytest.mark.parametrize("scenario", ALL_SCENARIOS)
def test_chart_lints_clean(scenario: str, tmp_path: Path) -> None:
    # helm lint reads values from files, like `helm lint -f ci/x-values.yaml`.
    report = helm.lint(CHART, scenario_values(scenario), strict=True, kube_version=f"v{KUBE_VERSIONS[-1]}")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == [], report


@pytest.mark.parametrize("scenario", ALL_SCENARIOS)
def test_rendered_config_and_policy_load_in_the_sidecar(scenario: str, tmp_path: Path) -> None:
    """The ConfigMaps hold files the real sidecar accepts (its loaders reject unknown keys)."""
    out = rendered(scenario)
    raw = config_of(out)
    tls = raw["server"]["tls"]
    for key, path in tls.items():  # the TLS files exist in the pod, not here: point at stand-ins
        if path:
            stand_in = tmp_path / Path(path).name
            stand_in.write_text("PEM")
            tls[key] = str(stand_in)
    config = config_from_dict(raw, base=tmp_path)
    assert str(config.policy_file) == "/etc/theraguard/policy/policy.yaml"
    policies = parse_policies(out.config_map_text("-policy", "policy.yaml"))
    assert policies.default_policy in policies.policies


# --- probes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "values", "port"),
    [
        ("default", {}, 50051),
        ("custom port", {"ports": {"grpc": 6000}}, 6000),
        ("gpu", scenario_values("gpu"), 50051),
    ],
)
def test_probes_use_native_grpc_on_the_grpc_port(label: str, values: dict[str, Any], port: int) -> None:
    out = render(values)
    guard = out.guard_container()
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert guard[probe]["grpc"] == {"port": port}, (label, probe, guard[probe])
        assert "exec" not in guard[probe] and "tcpSocket" not in guard[probe]
    assert {"name": "guard-grpc", "containerPort": port, "protocol": "TCP"} in guard["ports"]
    assert config_of(out)["server"]["address"] == f"0.0.0.0:{port}"


def test_gpu_startup_probe_allows_a_tensorrt_engine_build() -> None:
    cpu = rendered("default").guard_container()["startupProbe"]
    gpu = rendered("gpu").guard_container()["startupProbe"]
    budget = gpu["periodSeconds"] * gpu["failureThreshold"]
    assert budget >= 600 and budget > cpu["periodSeconds"] * cpu["failureThreshold"]


def test_tls_probes_run_the_tls_health_check_script() -> None:
    """Kubelet gRPC probes cannot speak TLS: with tls.enabled the probes exec the script instead."""
    out = rendered("tls")
    guard = out.guard_container()
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert guard[probe]["exec"]["command"] == [
            "/opt/venv/bin/python",
            "/etc/theraguard/config/healthcheck.py",
            "127.0.0.1:50051",
        ]
        assert guard[probe]["timeoutSeconds"] >= 5  # an interpreter starts per check
    script = out.config_map_text("-config", "healthcheck.py")
    compile(script, "healthcheck.py", "exec")  # valid Python
    assert 'SERVER_NAME = "demo-theraguard.chat.svc"' in script and "MUTUAL = True" in script


# --- ConfigMaps and the checksum annotation -----------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "policy_values", "expected"),
    [
        ("scenario sidecar", scenario_values("sidecar")["policy"], {"Safety": 4.5}),
        (
            "every dimension",
            {"policies": {"default": {"thresholds": dict.fromkeys(DIMENSIONS, 3.25)}}},
            dict.fromkeys(DIMENSIONS, 3.25),
        ),
        ("integer threshold", {"policies": {"default": {"thresholds": {"Empathy": 4}}}}, {"Empathy": 4.0}),
    ],
)
def test_policy_configmap_holds_the_thresholds_from_values(
    label: str, policy_values: dict[str, Any], expected: dict[str, float]
) -> None:
    out = render({"policy": policy_values})
    default = parse_policies(out.config_map_text("-policy", "policy.yaml")).get("")
    for dim, threshold in expected.items():
        assert default.thresholds[dim] == threshold, (label, dim)


def test_policy_configmap_holds_actions_critical_and_fallback() -> None:
    strict = parse_policies(rendered("standalone-hpa").config_map_text("-policy", "policy.yaml")).get(
        "strict"
    )
    assert strict.critical == ("Safety", "Empathy")
    assert strict.on_failure is FailureAction.BLOCK
    assert strict.overridable == frozenset({"Relevance"})
    assert strict.fallback_reply.startswith("I'm not able to help with this here.")
    sidecar = parse_policies(rendered("sidecar").config_map_text("-policy", "policy.yaml")).get("default")
    assert sidecar.action_for("Relevance") is FailureAction.FLAG


def pod_annotations(out: Rendered) -> dict[str, str]:
    return out.one("Deployment")["spec"]["template"]["metadata"]["annotations"]


def test_checksum_annotation_rolls_pods_when_the_policy_changes() -> None:
    before = pod_annotations(rendered("default"))
    after = pod_annotations(render({"policy": {"policies": {"default": {"thresholds": {"Safety": 4.25}}}}}))
    assert before["checksum/policy"] != after["checksum/policy"]
    assert before["checksum/config"] == after["checksum/config"]
    config_change = pod_annotations(render({"config": {"maxConcurrentCalls": 64}}))
    assert config_change["checksum/config"] != before["checksum/config"]


def test_policy_hot_reload_only_drops_the_policy_checksum() -> None:
    annotations = pod_annotations(render({"policy": {"rollOnChange": False}}))
    assert "checksum/policy" not in annotations and "checksum/config" in annotations


# --- bad values fail at install time, naming the value -------------------------------------------------


@pytest.mark.parametrize(
    ("label", "values", "message"),
    [
        ("typo at the top", {"replicaCont": 3}, "additional properties 'replicaCont' not allowed"),
        ("typo in a policy", {"policy": {"policies": {"default": {"treshold": {}}}}}, "'treshold' not allowed"),
        ("threshold above 5", {"policy": {"policies": {"default": {"thresholds": {"Safety": 7}}}}},
         "/policy/policies/default/thresholds/Safety': maximum: got 7, want 5"),
        ("threshold below 1", {"policy": {"policies": {"default": {"thresholds": {"Empathy": 0.5}}}}},
         "/policy/policies/default/thresholds/Empathy': minimum: got 0.5, want 1"),
        ("unknown action", {"policy": {"policies": {"default": {"actions": {"Safety": "ignore"}}}}},
         "/policy/policies/default/actions/Safety': value must be one of 'rewrite', 'block', 'flag'"),
        ("unknown onFailure", {"policy": {"policies": {"default": {"onFailure": "retry"}}}}, "/onFailure"),
        ("unknown dimension", {"policy": {"policies": {"default": {"critical": ["Safty"]}}}}, "/critical/0"),
        ("new policy missing thresholds", {"policy": {"policies": {"lax": {"fallbackReply": "x"}}}},
         "missing property 'thresholds'"),
        ("unknown mode", {"mode": "daemonset"}, "/mode"),
        ("port out of range", {"ports": {"grpc": 70000}}, "/ports/grpc"),
        ("unknown provider", {"config": {"judge": {"providers": ["rocm"]}}}, "/config/judge/providers/0"),
    ],
)  # fmt: skip
def test_schema_rejects_bad_values(label: str, values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmValuesError) as err:
        render(values)
    assert message in str(err.value), (label, str(err.value))


BOTH_MODEL_SOURCES = {
    "models": {"volume": {"claimName": "guard-models"}, "initContainer": {"image": "reg/models:1"}}
}


def test_both_model_sources_fail_naming_both_values() -> None:
    with pytest.raises(helm.HelmRenderError) as err:
        render(BOTH_MODEL_SOURCES)
    text = str(err.value)
    assert (
        "models.volume.claimName (guard-models) and models.initContainer.image (reg/models:1) are both set"
        in text
    )


@pytest.mark.parametrize(
    ("label", "values", "message"),
    [
        ("threshold above 5", {"policy": {"policies": {"default": {"thresholds": {"Safety": 7}}}}},
         "threshold policy.policies.default.thresholds.Safety must be in [1, 5] (got: 7)"),
        ("unknown action", {"policy": {"policies": {"default": {"actions": {"Relevance": "ignore"}}}}},
         'policy.policies.default.actions.Relevance: unknown action "ignore"; use rewrite, block or flag'),
        ("flagged critical", {"policy": {"policies": {"default": {"actions": {"Safety": "flag"}}}}},
         "Safety is critical, so its action must be rewrite or block (got: flag)"),
        ("missing default policy", {"policy": {"defaultPolicy": "strict"}},
         'policy.defaultPolicy "strict" is not defined under policy.policies (defined: default)'),
        ("tls without secret", {"tls": {"enabled": True}}, "tls.secretName is empty"),
        ("openai without url", {"config": {"rewriter": {"backend": "openai"}}}, "set config.rewriter.openai.baseUrl"),
    ],
)  # fmt: skip
def test_validation_template_names_the_value_when_the_schema_is_skipped(
    label: str, values: dict[str, Any], message: str, tmp_path: Path
) -> None:
    with pytest.raises(helm.HelmRenderError) as err:
        render(values, chart=chart_without_schema(tmp_path))
    assert message in str(err.value), (label, str(err.value))


def test_validation_collects_every_problem_and_fails_once(tmp_path: Path) -> None:
    values = merged(
        BOTH_MODEL_SOURCES,
        {"policy": {"policies": {"default": {"thresholds": {"Safety": 9}, "actions": {"Empathy": "shout"}}}}},
    )
    with pytest.raises(helm.HelmRenderError) as err:
        render(values, chart=chart_without_schema(tmp_path))
    listed = [line for line in str(err.value).splitlines() if line.startswith("  - ")]
    assert len(listed) == 3, str(err.value)


# --- secure defaults, volumes, model sources -----------------------------------------------------------


@pytest.mark.parametrize("scenario", [s for s in ALL_SCENARIOS if s != "sidecar"])
def test_security_context_defaults(scenario: str) -> None:
    out = rendered(scenario)
    security = out.guard_container()["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == 10001
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    pod = out.pod_spec()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for init in pod.get("initContainers", []):
        assert init["securityContext"]["readOnlyRootFilesystem"] is True


def mounts(out: Rendered) -> dict[str, dict[str, Any]]:
    return {m["mountPath"]: m for m in out.guard_container()["volumeMounts"]}


def volumes(out: Rendered) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in out.pod_spec()["volumes"]}


def test_writable_paths_are_mounted_volumes_only() -> None:
    out = rendered("gpu")
    by_path = mounts(out)
    writable = {path for path, m in by_path.items() if not m.get("readOnly")}
    assert writable == {"/tmp", "/var/cache/theraguard/tensorrt"}
    assert "emptyDir" in volumes(out)["theraguard-tmp"]
    assert volumes(out)["theraguard-trt-cache"]["persistentVolumeClaim"] == {
        "claimName": "theraguard-trt-cache"
    }
    assert config_of(out)["judge"]["tensorrt_cache_dir"] == "/var/cache/theraguard/tensorrt"


def test_gpu_scenario_requests_a_gpu_and_requires_it() -> None:
    out = rendered("gpu")
    guard = out.guard_container()
    assert guard["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert guard["image"].endswith(":0.1.0-gpu")
    judge = config_of(out)["judge"]
    assert judge["providers"][:2] == ["tensorrt", "cuda"] and judge["require_gpu"] is True
    pod = out.pod_spec()
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    cpu_judge = config_of(rendered("default"))["judge"]
    assert cpu_judge["providers"] == ["cpu"] and cpu_judge["require_gpu"] is False


@pytest.mark.parametrize(
    ("label", "values", "root", "volume_kind"),
    [
        ("baked into the image", {}, "/opt/theraguard/models", None),
        ("volume", {"models": {"volume": {"claimName": "guard-models", "subPath": "v1"}}}, "/var/lib/theraguard/models",
         "persistentVolumeClaim"),
        ("init container", {"models": {"initContainer": {"image": "reg/models:1"}}}, "/var/lib/theraguard/models",
         "emptyDir"),
    ],
)  # fmt: skip
def test_model_source(label: str, values: dict[str, Any], root: str, volume_kind: str | None) -> None:
    out = render(values)
    config = config_of(out)
    assert (
        config["judge"]["bundle"] == f"{root}/judge" and config["rewriter"]["model_dir"] == f"{root}/rewriter"
    )
    model_volume = volumes(out).get("theraguard-models")
    inits = out.pod_spec().get("initContainers", [])
    if volume_kind is None:
        assert model_volume is None and inits == [] and root not in mounts(out)
        return
    assert volume_kind in model_volume and mounts(out)[root]["readOnly"] is True
    if label == "volume":
        assert mounts(out)[root]["subPath"] == "v1" and inits == []
    else:
        (init,) = inits
        assert init["image"] == "reg/models:1"
        assert init["command"] == ["cp", "-R", "/models/.", "/var/lib/theraguard/models/"]


def test_tls_secret_is_mounted_and_wired_into_the_config() -> None:
    out = rendered("tls")
    assert volumes(out)["theraguard-tls"]["secret"]["secretName"] == "theraguard-tls"
    assert mounts(out)["/etc/theraguard/tls"]["readOnly"] is True
    assert config_of(out)["server"]["tls"] == {
        "cert_file": "/etc/theraguard/tls/tls.crt",
        "key_file": "/etc/theraguard/tls/tls.key",
        "client_ca_file": "/etc/theraguard/tls/ca.crt",
    }
    env = {e["name"]: e for e in out.guard_container()["env"]}
    assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "vllm-api-key", "key": "api-key"}
    assert "grpcurl -cacert ca.crt -servername demo-theraguard.chat.svc -cert client.crt" in out.notes


# --- standalone resources ------------------------------------------------------------------------------


def test_standalone_service_is_grpc() -> None:
    service = rendered("default").one("Service")
    grpc_port = next(p for p in service["spec"]["ports"] if p["name"] == "grpc")
    assert grpc_port == {
        "name": "grpc",
        "port": 50051,
        "targetPort": "guard-grpc",
        "protocol": "TCP",
        "appProtocol": "grpc",
    }
    assert "clusterIP" not in service["spec"]
    assert rendered("standalone-hpa").one("Service")["spec"]["clusterIP"] == "None"


def test_standalone_hpa_pdb_networkpolicy_servicemonitor() -> None:
    out = rendered("standalone-hpa")
    assert "replicas" not in out.one("Deployment")["spec"]  # the HPA owns it
    hpa = out.one("HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 12)
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    assert hpa["scaleTargetRef"]["name"] == out.one("Deployment")["metadata"]["name"]
    assert out.one("PodDisruptionBudget")["spec"]["minAvailable"] == 2
    ingress = out.one("NetworkPolicy")["spec"]["ingress"]
    assert ingress[0]["ports"] == [{"port": 50051, "protocol": "TCP"}]
    assert ingress[0]["from"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "chat-api"}
    assert ingress[1]["ports"] == [{"port": 9464, "protocol": "TCP"}]  # Prometheus from its namespace
    assert ingress[1]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"
    }
    monitor = out.one("ServiceMonitor")
    service = out.one("Service")
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_selectors_match_pod_labels() -> None:
    out = rendered("default")
    pod_labels = out.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    for selector in (
        out.one("Deployment")["spec"]["selector"]["matchLabels"],
        out.one("Service")["spec"]["selector"],
        out.one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        out.one("NetworkPolicy")["spec"]["podSelector"]["matchLabels"],
    ):
        assert selector.items() <= pod_labels.items()


def test_names_are_cut_to_63_characters() -> None:
    out = render({}, release="a-very-long-release-name-for-a-chat-platform-in-production-eu-west")
    for doc in out.docs:
        assert len(doc["metadata"]["name"]) <= 63, doc["metadata"]["name"]
    assert out.one("ConfigMap", "-config") and out.one("ConfigMap", "-policy")


def test_notes_tell_how_to_call_it() -> None:
    notes = rendered("default").notes
    assert "grpcurl -plaintext localhost:50051 list" in notes
    assert "grpc.health.v1.Health/Check" in notes and "theraguard.v1.Guardrail/Guard" in notes
    assert "port-forward svc/demo-theraguard 50051:50051" in notes
