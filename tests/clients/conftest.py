"""Fixtures for the client tests: the real sidecar process and the Node.js client installed from its
lockfile."""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sidecarproc import (
    JUDGE_BUNDLE,
    NODE_CLIENT,
    SERVING_LINE,
    START_TIMEOUT_S,
    SidecarProcess,
    read_lines,
    wait_until_serving,
    write_test_config,
)


@pytest.fixture(scope="session")
def sidecar_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SidecarProcess]:
    if not (JUDGE_BUNDLE / "manifest.json").is_file():
        pytest.fail(f"the default judge bundle {JUDGE_BUNDLE} is missing: build it with `make judge`")
    tmp = tmp_path_factory.mktemp("sidecar-process")
    config = write_test_config(tmp)
    theraguard = Path(sys.executable).parent / "theraguard"
    command = [str(theraguard if theraguard.exists() else "theraguard"), "serve", "--config", str(config),
               "--address", "127.0.0.1:0", "--metrics-address", "127.0.0.1:0"]  # fmt: skip
    stderr = (tmp / "stderr.log").open("w", encoding="utf-8")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=read_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        try:
            first = lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            first = None
        match = SERVING_LINE.match(first or "")
        if not match:
            process.kill()
            process.wait(10)
            log = (tmp / "stderr.log").read_text(encoding="utf-8")[-3000:]
            pytest.fail(
                f"`theraguard serve` did not print its serving line (got: {first!r}, exit: {process.poll()})\n{log}"
            )
        target = f"{match['host']}:{match['port']}"
        wait_until_serving(target)
        policy = yaml.safe_load((tmp / "policy.yaml").read_text(encoding="utf-8"))
        yield SidecarProcess(target=target, metrics=match["metrics"], policy=policy, process=process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        stderr.close()


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
