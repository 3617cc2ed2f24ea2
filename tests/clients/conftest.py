"""Fixtures for the client tests: the real sidecar process and the Node.js client installed from its
lockfile."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sidecarproc import JUDGE_BUNDLE, NODE_CLIENT, SidecarProcess, SidecarStartError, running_sidecar


@pytest.fixture(scope="session")
def sidecar_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SidecarProcess]:
    if not (JUDGE_BUNDLE / "manifest.json").is_file():
        pytest.fail(f"the default judge bundle {JUDGE_BUNDLE} is missing: build it with `make judge`")
    try:
        with running_sidecar(tmp_path_factory.mktemp("sidecar-process")) as running:
            yield running
    except SidecarStartError as err:
        pytest.fail(str(err))


@pytest.fixture(scope="session")
def node_client() -> Path:
    """clients/node with its dependencies installed from package-lock.json (`npm ci`, once)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.fail("node and npm are needed for the Node.js client tests (Node.js >= 18)")
    installed = NODE_CLIENT / "node_modules" / ".package-lock.json"
    lock = NODE_CLIENT / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=NODE_CLIENT, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            pytest.fail(f"npm ci in {NODE_CLIENT} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return NODE_CLIENT
