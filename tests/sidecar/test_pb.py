"""The committed stubs in sidecar/pb/ match proto/ (the same check CI runs via `make proto-check`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sidecar.pb import generate

REPO = Path(__file__).resolve().parents[2]


def test_committed_stubs_are_up_to_date() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sidecar.pb.generate", "--check"],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_stale_stubs_are_detected(tmp_path: Path, monkeypatch) -> None:
    # Point the check at a copy of the stubs with one edited line: it must fail and name the file.
    for path in generate.PB_DIR.glob("*_pb2*"):
        (tmp_path / path.name).write_text(path.read_text())
    stale = tmp_path / "guardrail_pb2_grpc.py"
    stale.write_text(stale.read_text().replace("class GuardrailStub", "class GuardrailStubOld"))
    monkeypatch.setattr(generate, "PB_DIR", tmp_path)
    assert generate.check() == 1


def test_generated_imports_are_package_relative() -> None:
    text = (generate.PB_DIR / "guardrail_pb2_grpc.py").read_text()
    assert "from . import guardrail_pb2" in text and "from theraguard" not in text
