"""Render the TheraGuard chart with the real Helm library (helm-python-sdk) and check manifests offline."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "theraguard"
CHAT_APP = Path(__file__).resolve().parent / "chat-app"
SCENARIOS = {
    path.name.removesuffix("-values.yaml"): path for path in sorted((CHART / "ci").glob("*-values.yaml"))
}
# Pinned Kubernetes versions: the chart's kubeVersion floor (1.27, native gRPC probes GA) and a recent
# release; kubernetes-validate ships both schema sets, so this runs offline.
KUBE_VERSIONS = ("1.27.0", "1.33.0")
# Custom resources without a bundled schema; the tests check these structurally instead.
CRD_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}
RELEASE = "demo"
NAMESPACE = "chat"


def scenario_values(name: str) -> dict[str, Any]:
    """The values of one ci/*-values.yaml scenario ("default" = the chart's defaults, i.e. {})."""
    if name == "default":
        return {}
    return yaml.safe_load(SCENARIOS[name].read_text(encoding="utf-8")) or {}


def merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base`` (how Helm coalesces -f files)."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass(frozen=True)
class Rendered:
    """The manifests of one render, by kind and name, plus the NOTES text."""

    docs: tuple[dict[str, Any], ...]
    notes: str

    def kinds(self) -> list[str]:
        return sorted(doc["kind"] for doc in self.docs)

    def one(self, kind: str, suffix: str = "") -> dict[str, Any]:
        found = [d for d in self.docs if d["kind"] == kind and d["metadata"]["name"].endswith(suffix)]
        if len(found) != 1:
            raise AssertionError(
                f"expected one {kind} named *{suffix}, found {[d['metadata']['name'] for d in found]}"
            )
        return found[0]

    def has(self, kind: str) -> bool:
        return any(d["kind"] == kind for d in self.docs)

    def config_map_text(self, suffix: str, key: str) -> str:
        return self.one("ConfigMap", suffix)["data"][key]

    def pod_spec(self) -> dict[str, Any]:
        return self.one("Deployment")["spec"]["template"]["spec"]

    def guard_container(self) -> dict[str, Any]:
        spec = self.pod_spec()
        found = [
            c for c in [*spec.get("initContainers", []), *spec["containers"]] if c["name"] == "theraguard"
        ]
        if len(found) != 1:
            raise AssertionError(f"expected one theraguard container, found {len(found)}")
        return found[0]


def render(
    values: Mapping[str, Any] | None = None, *, chart: Path = CHART, release: str = RELEASE
) -> Rendered:
    """Render like `helm template` (schema validation and the validation template included)."""
    with helm.Chart.load(chart) as loaded:
        manifests = loaded.render(dict(values or {}), name=release, namespace=NAMESPACE)
    docs: list[dict[str, Any]] = []
    notes = ""
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        docs.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return Rendered(tuple(docs), notes)


def validate_schema(values: Mapping[str, Any]) -> None:
    """values.schema.json check alone; raises helm.HelmValuesError naming the key."""
    with helm.Chart.load(CHART) as loaded:
        loaded.validate_schema(dict(values))


def kubernetes_errors(docs: tuple[dict[str, Any], ...], version: str) -> list[str]:
    """Strict schema errors of every manifest (unknown fields included) for one Kubernetes version."""
    errors = []
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            where = ".".join(str(p) for p in err.path)
            errors.append(f"{doc['kind']}/{doc['metadata']['name']} @ {version}: {where}: {err.message}")
        except kubernetes_validate.SchemaNotFoundError as err:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']} @ {version}: {err.message}")
    return errors


def chart_without_schema(tmp: Path) -> Path:
    """A copy of the chart minus values.schema.json, to reach the validation template with bad values
    the way `helm install --skip-schema-validation` would."""
    copy_dir = tmp / "theraguard"
    shutil.copytree(CHART, copy_dir)
    (copy_dir / "values.schema.json").unlink()
    return copy_dir


def chat_app(tmp: Path) -> Path:
    """The example chat chart with this chart vendored as its dependency (what `helm dependency
    build` does with the file:// repository)."""
    app = tmp / "chat-app"
    shutil.copytree(CHAT_APP, app)
    shutil.copytree(CHART, app / "charts" / "theraguard")
    return app


def walk_keys(tree: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths of every key in a nested mapping."""
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield path
            yield from walk_keys(value, path)
