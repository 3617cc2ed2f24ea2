"""The chart's values table, read from the `# --` comments in values.yaml (helm-docs' convention).

`python tests/helm/valuesdoc.py` rewrites the table in helm/theraguard/README.md; a test fails when the
committed table is stale or a value has no description.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parents[2] / "helm" / "theraguard"
BEGIN, END = "<!-- values-table:begin -->", "<!-- values-table:end -->"
_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.\-/]+):(?:\s|$)")


@dataclass(frozen=True)
class Value:
    """One key of values.yaml: its dotted path, its `# --` description ("" if none), its default."""

    path: str
    description: str
    default: object


def read_values(text: str) -> list[Value]:
    """Every key with its description; list items and folded text are not keys."""
    defaults = yaml.safe_load(text)
    lines = text.splitlines()
    stack: list[tuple[int, str]] = []
    out = []
    block_indent: int | None = None  # inside a multi-line scalar (">-" / "|"): skip its lines
    for number, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        if block_indent is not None:
            if indent > block_indent:
                continue
            block_indent = None
        match = _KEY.match(line)
        if not match:
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([*(k for _, k in stack), match["key"]])
        stack.append((indent, match["key"]))
        if re.search(r":\s*[>|][-+]?\s*$", line):
            block_indent = indent
        out.append(Value(path, _description(lines, number, indent), _lookup(defaults, path)))
    return out


def _description(lines: list[str], number: int, indent: int) -> str:
    """The `# --` comment block right above a key, at its indentation, joined into one line."""
    block: list[str] = []
    for line in reversed(lines[:number]):
        stripped = line.strip()
        if not stripped.startswith("#") or len(line) - len(line.lstrip()) != indent:
            break
        block.insert(0, stripped.lstrip("#").strip())
        if stripped.startswith("# --"):
            return " ".join(block).removeprefix("-- ").strip()
    return ""


def _lookup(tree: object, path: str) -> object:
    for key in path.split("."):
        tree = tree[key]  # type: ignore[index]
    return tree


def undocumented(values: list[Value]) -> list[str]:
    """Keys neither described themselves nor under a described key."""
    described = {v.path for v in values if v.description}
    missing = []
    for value in values:
        parts = value.path.split(".")
        ancestors = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        has_children = any(other.path.startswith(value.path + ".") for other in values)
        if not has_children and not ancestors & described:
            missing.append(value.path)
    return missing


def table(values: list[Value]) -> str:
    """Markdown table of the described keys; a described map without described keys inside is one row
    with its whole default."""
    rows = ["| Key | Default | Description |", "|-----|---------|-------------|"]
    described = [v for v in values if v.description]
    for value in described:
        if any(other.path.startswith(value.path + ".") for other in described):
            rows.append(f"| `{value.path}` | (keys below) | {value.description.replace('|', '&#124;')} |")
            continue
        default = json.dumps(value.default, ensure_ascii=False)
        if len(default) > 60:
            default = default[:57] + "..."
        rows.append(
            f"| `{value.path}` | `{default.replace('|', '&#124;')}` | {value.description.replace('|', '&#124;')} |"
        )
    return "\n".join(rows)


def readme_with_table(readme: str, values: list[Value]) -> str:
    head, _, rest = readme.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table(values)}\n{END}{tail}"


def main() -> int:
    values = read_values((CHART / "values.yaml").read_text(encoding="utf-8"))
    readme = CHART / "README.md"
    readme.write_text(readme_with_table(readme.read_text(encoding="utf-8"), values), encoding="utf-8")
    print(f"wrote the values table ({len(values)} keys) into {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
