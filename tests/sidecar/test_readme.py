"""The README's configuration reference documents every key of the shipped config and policy files."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _keys(node: object, prefix: str = "") -> list[str]:
    if not isinstance(node, dict):
        return [prefix]
    keys = []
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        keys += [path] if not isinstance(value, dict) or not value else [path, *_keys(value, path)]
    return keys


def test_every_config_key_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    config = yaml.safe_load((REPO / "config" / "theraguard.yaml").read_text())
    leaves = [k for k in _keys(config) if k.count(".") >= 1 or not isinstance(config.get(k), dict)]
    missing = [k for k in leaves if f"`{k}`" not in readme and not isinstance(_get(config, k), dict)]
    assert not missing, f"undocumented config keys: {missing}"


def test_every_policy_key_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    policy = yaml.safe_load((REPO / "config" / "policy.yaml").read_text())
    assert "`default_policy`" in readme
    for name, body in policy["policies"].items():
        keys = [k for k in body if k != "fail_open"] + [f"fail_open.{k}" for k in body.get("fail_open", {})]
        for key in keys:
            assert f"`policies.<name>.{key}`" in readme, (
                f"undocumented policy key: {key} (from policy {name})"
            )


def _get(node: dict, dotted: str) -> object:
    for part in dotted.split("."):
        node = node[part]  # type: ignore[assignment]
    return node
