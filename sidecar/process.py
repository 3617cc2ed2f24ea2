"""Start `theraguard serve` as a child process on port 0 and read the address it bound.

For the benchmarks and the tests that run the sidecar exactly as a user would (bench/loadgen.py,
tests/clients/sidecarproc.py). ``serve`` prints one line to stdout once it is serving (sidecar/cli.py):
``theraguard: serving on HOST:PORT (metrics on HOST:PORT)``; everything else goes to stderr.
"""

from __future__ import annotations

import contextlib
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

SERVING_LINE = re.compile(
    r"^theraguard: serving on (?P<host>\S+):(?P<port>\d+) \(metrics on (?P<metrics>\S+)\)$"
)


class ServeStartError(RuntimeError):
    """`theraguard serve` exited or never printed its serving line; the message holds its log tail."""


@dataclass(frozen=True)
class ServeSubprocess:
    """A `theraguard serve` child that has printed its serving line."""

    process: subprocess.Popen[str]
    target: str  # HOST:PORT of the gRPC server
    metrics: str  # HOST:PORT of /metrics
    line: str  # the serving line itself


@contextlib.contextmanager
def serve_subprocess(
    config: Path,
    stderr_path: Path,
    args: Sequence[str] = (),
    *,
    start_timeout: float = 180.0,
    stop_timeout: float = 30.0,
) -> Iterator[ServeSubprocess]:
    """Run `theraguard serve --config CONFIG` on 127.0.0.1:0 (metrics too) plus ``args``, stderr to
    ``stderr_path``; yield once it prints its serving line, SIGTERM it afterwards (see ``stop``).

    Raises ServeStartError when no serving line comes within ``start_timeout`` seconds.
    """
    # The console script beside this interpreter, so a venv's sidecar runs without activating the venv.
    theraguard = Path(sys.executable).parent / "theraguard"
    command = [str(theraguard if theraguard.exists() else "theraguard"), "serve", "--config", str(config),
               "--address", "127.0.0.1:0", "--metrics-address", "127.0.0.1:0", *args]  # fmt: skip
    with stderr_path.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
    lines: queue.Queue[str | None] = queue.Queue()
    # Keep draining stdout so the child never blocks on a full pipe.
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        try:
            first = lines.get(timeout=start_timeout)
        except queue.Empty:
            first = None
        match = SERVING_LINE.match(first or "")
        if not match:
            process.kill()
            process.wait(10)
            log = stderr_path.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise ServeStartError(
                f"`theraguard serve` did not print its serving line (got: {first!r}, exit: {process.poll()})\n{log}"
            )
        yield ServeSubprocess(process, f"{match['host']}:{match['port']}", match["metrics"], match[0])
    finally:
        stop(process, stop_timeout)


def stop(process: subprocess.Popen[str], timeout: float = 30.0) -> int:
    """SIGTERM, wait, SIGKILL if it will not stop; return the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    return process.returncode


def _read_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)
