"""Every value is documented, in the schema, and in the chart README's table; versions agree."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from helmchart import CHART
from valuesdoc import read_values, readme_with_table, undocumented

VALUES = read_values((CHART / "values.yaml").read_text(encoding="utf-8"))
SCHEMA = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))


def schema_node(path: str) -> dict[str, Any] | None:
    """The schema for a dotted values path; None when the schema does not allow it."""
    node: dict[str, Any] = SCHEMA
    for key in path.split("."):
        if key in node.get("properties", {}):
            node = node["properties"][key]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]  # a map: policy names, resource names, labels
        elif node.get("type") == "object" and "properties" not in node and "additionalProperties" not in node:
            return node  # passed through to Kubernetes as given (affinity terms, selectors)
        else:
            return None
    return node


def closed_objects(node: Any, where: str = "") -> list[str]:
    """Paths of schema objects with properties but without additionalProperties: false."""
    out = []
    if isinstance(node, dict):
        if "properties" in node and node.get("additionalProperties") is not False:
            out.append(where or "(top)")
        for key, child in node.items():
            out.extend(closed_objects(child, f"{where}/{key}"))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            out.extend(closed_objects(child, f"{where}/{i}"))
    return out


def test_every_value_has_a_description() -> None:
    assert undocumented(VALUES) == []


def test_every_value_is_in_the_schema() -> None:
    assert [v.path for v in VALUES if schema_node(v.path) is None] == []


# Values shaped like Kubernetes objects: the schema lists their optional fields, values.yaml sets a few.
KUBERNETES_SHAPED = {
    "resources", "securityContext", "podSecurityContext", "affinity", "updateStrategy", "gpu.startupProbe",
    "probes.startup", "probes.liveness", "probes.readiness",
}  # fmt: skip


def test_every_schema_property_is_a_documented_value() -> None:
    """The chart's own settings all appear (with their defaults) in values.yaml."""
    paths = {v.path for v in VALUES}

    def walk(node: dict[str, Any], prefix: str) -> list[str]:
        missing = []
        for key, child in node.get("properties", {}).items():
            path = f"{prefix}{key}"
            if path not in paths:
                missing.append(path)
            elif path not in KUBERNETES_SHAPED:
                missing.extend(walk(child, path + "."))
        return missing

    assert walk(SCHEMA, "") == []


def test_schema_objects_are_closed() -> None:
    assert closed_objects(SCHEMA) == []


def test_defaults_pass_the_schema_types() -> None:
    defaults = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    for policy in defaults["policy"]["policies"].values():
        assert all(1 <= t <= 5 for t in policy["thresholds"].values())


def test_readme_values_table_is_current() -> None:
    readme = (CHART / "README.md").read_text(encoding="utf-8")
    assert readme == readme_with_table(readme, VALUES), "run: python tests/helm/valuesdoc.py"


def test_app_version_helper_matches_chart_yaml() -> None:
    """_helpers.tpl repeats appVersion (a parent chart's include has no .Chart of ours)."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    helpers = (CHART / "templates" / "_helpers.tpl").read_text(encoding="utf-8")
    match = re.search(r'define "theraguard.appVersion" -}}\n(.+)\n', helpers)
    assert match and match[1] == chart["appVersion"]
