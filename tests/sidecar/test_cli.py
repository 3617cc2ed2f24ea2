"""The `theraguard` command as users run it: serve on port 0, score/guard against it, SIGHUP, SIGTERM."""

from __future__ import annotations

import json
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from sidecar_harness import JUDGE_BUNDLE, POLICY_FILE

SERVING = re.compile(r"^theraguard: serving on 127\.0\.0\.1:(\d+) \(metrics on 127\.0\.0\.1:(\d+)\)$")


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sidecar.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _write_config(tmp_path: Path) -> Path:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY_FILE.read_text())
    config = {
        "server": {"address": "0.0.0.0:50051", "metrics_address": "0.0.0.0:9464", "grace_seconds": 5},
        "judge": {"bundle": str(JUDGE_BUNDLE), "providers": ["cpu"]},
        "rewriter": {"backend": "none"},
        "policy_file": "policy.yaml",
    }
    path = tmp_path / "theraguard.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        raise AssertionError(f"no line on stdout within {timeout} s")
    return process.stdout.readline().rstrip("\n")  # type: ignore[union-attr]


def test_serve_score_guard_reload_and_terminate(judge_bundle: Path, tmp_path: Path) -> None:
    config = _write_config(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "sidecar.cli", "serve", "--config", str(config),
         "--address", "127.0.0.1:0", "--metrics-address", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = _read_line(process, timeout=60)
        match = SERVING.match(line)
        assert match, line
        target = f"127.0.0.1:{match[1]}"

        scored = _cli("score", "--target", target, "--context", "user: I failed my driving test again.",
                      "--reply", "That's frustrating. What happened this time?")  # fmt: skip
        assert scored.returncode == 0, scored.stderr
        rows = [r for r in scored.stdout.splitlines() if r.split() and r.split()[0] in {"Safety", "Empathy"}]
        assert len(rows) == 2 and "critical" in scored.stdout

        guarded = _cli("guard", "--target", target, "--reply", "Whatever.", "--json")
        assert guarded.returncode == 0, guarded.stderr
        result = json.loads(guarded.stdout)
        assert result["action"] in {"PASS", "FALLBACK", "FLAGGED"} and len(result["scores_before"]) == 7

        bad = _cli("score", "--target", target, "--reply", "ok", "--override", "Safety=9")
        assert bad.returncode == 1 and "INVALID_ARGUMENT" in bad.stderr and "[1, 5]" in bad.stderr

        # SIGHUP with a broken policy file: rejected, logged, still serving with the old policies.
        (tmp_path / "policy.yaml").write_text("policies: {}\n")
        process.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        again = _cli("score", "--target", target, "--reply", "Still there?")
        assert again.returncode == 0, again.stderr

        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert out == ""  # exactly one line on stdout, read above
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    names = [e["event"] for e in events]
    assert "policy_rejected" in names and "serving" in names and names[-1] == "stopped"
    rejected = next(e for e in events if e["event"] == "policy_rejected")
    assert "policies must define at least one policy" in rejected["error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["serve", "--config", "/nonexistent/theraguard.yaml"],
            "config file /nonexistent/theraguard.yaml does not exist",
        ),
        (
            ["score", "--reply", "hi", "--context", "therapist: hello"],
            "--context must look like 'user: text'",
        ),
        (["score", "--reply", "hi", "--override", "Kindness=3"], "--override must look like Dimension=VALUE"),
    ],
    ids=["missing_config", "bad_context_role", "bad_override"],
)
def test_cli_usage_errors_are_clear(args: list[str], message: str) -> None:
    done = _cli(*args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_serve_refuses_a_broken_bundle_naming_it(tmp_path: Path) -> None:
    config = _write_config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["judge"]["bundle"] = str(tmp_path / "no-bundle")
    config.write_text(yaml.safe_dump(raw))
    done = _cli("serve", "--config", str(config), "--address", "127.0.0.1:0", "--metrics-address", "")
    assert done.returncode == 2 and done.stdout == ""
    assert f"judge bundle directory {tmp_path / 'no-bundle'} does not exist" in done.stderr


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--address", "(server.address)"),
        ("--metrics-address", "(server.metrics_address): Address already in use"),
    ],
    ids=["grpc_port_taken", "metrics_port_taken"],
)
def test_serve_refuses_a_taken_port_naming_it(tmp_path: Path, flag: str, message: str) -> None:
    config = _write_config(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        args = {"--address": "127.0.0.1:0", "--metrics-address": "127.0.0.1:0", flag: address}
        done = _cli("serve", "--config", str(config), *[x for kv in args.items() for x in kv])
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert "theraguard: error: cannot " in done.stderr and message in done.stderr and address in done.stderr
