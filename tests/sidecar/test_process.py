"""sidecar.process, the `theraguard serve` launcher of the benchmarks and the client tests: the failure
path (the serving path runs in every tests/clients and tests/resilience process test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.process import ServeStartError, serve_subprocess


def test_a_serve_that_exits_raises_with_its_exit_code_and_log(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ServeStartError) as caught, serve_subprocess(missing, tmp_path / "stderr.log"):
        pytest.fail("yielded although serve exited")
    message = str(caught.value)
    assert "did not print its serving line (got: None, exit: 2)" in message, message
    assert "theraguard: error:" in message and str(missing) in message, message
