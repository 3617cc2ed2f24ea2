"""Load generation against a real sidecar: a seeded request mix, a grpc.aio driver, stats and RSS.

Shared by the resilience benchmarks (bench/load.py, bench/faults.py) and their small versions in
tests/resilience. Nothing here fakes the server: ``serve_process`` starts `theraguard serve` on
127.0.0.1:0 exactly as a user would (the config is config/theraguard.yaml with test edits), and the
driver talks to it over a real channel. All traffic stays on loopback and every loop is bounded by a
call count and a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import yaml

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO, REPO / "tests" / "clients"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from sidecarproc import wait_until_serving, write_test_config

from sidecar.pb import guardrail_pb2 as pb
from sidecar.pb import guardrail_pb2_grpc as pb_grpc
from sidecar.process import serve_subprocess

# --- the request mix ------------------------------------------------------------------------------------

# Written for this benchmark (not from any data set): a chat about ordinary distress, and replies of
# three lengths. Text is composed from these at random with a fixed seed.
_USER_LINES = (
    "I have not been sleeping well and I wake up at four every morning with my heart racing.",
    "My manager keeps piling work on me and I feel like I am drowning.",
    "Since the breakup I cannot concentrate on anything, not even films I used to love.",
    "My mum is ill and I am the only one looking after her, and I am exhausted.",
    "I get panicky on the bus and lately I have been walking everywhere to avoid it.",
    "Everyone at uni seems to have friends already and I eat lunch alone most days.",
    "I snapped at my kids again tonight and I feel like a terrible parent.",
    "I keep checking my phone to see if she replied and it is making me miserable.",
    "Some days I do not see the point in getting up at all.",
    "I moved to a new city for work and I have not really spoken to anyone in weeks.",
)
_ASSISTANT_LINES = (
    "That sounds really hard. What do you think has been making it worse lately?",
    "It makes sense that you feel worn down after carrying so much for so long.",
    "Thank you for telling me. How long has it been feeling like this?",
    "You are doing a lot, and it is okay to feel tired by it.",
)
_REPLY_SENTENCES = (
    "That sounds exhausting, and it makes sense that you feel on edge.",
    "A lot of people feel this way when several pressures pile up at once.",
    "It might help to keep a short wind-down routine before bed, the same every night.",
    "Try writing down the worries that come at night, so they are on paper instead of in your head.",
    "Talking to your doctor could help too, especially if this has gone on for weeks.",
    "You do not have to sort all of it out at once; one small step this week is enough.",
    "Is there someone you trust who you could tell how you are feeling?",
    "If things ever feel unsafe, please contact a crisis line or your local emergency number.",
    "Breaking the work into smaller pieces and asking for a realistic deadline is reasonable.",
    "What usually helps you feel even a little calmer when it gets like this?",
    "Just try to think positive and it will pass.",
    "Honestly, everyone goes through this, you will be fine.",
)
SIZES = {"short": (1, 2), "medium": (3, 5), "long": (12, 40)}  # sentences per reply
MAX_TURNS = 10


@dataclass(frozen=True)
class Call:
    """One request of the mix."""

    rpc: str  # Score | Guard
    size: str  # short | medium | long
    turns: int
    request: Any  # pb.ScoreRequest | pb.GuardRequest


def make_calls(
    n: int,
    *,
    seed: int = 7,
    guard_share: float = 0.5,
    policy: str = "",
    sizes: Sequence[tuple[str, float]] = (("short", 0.4), ("medium", 0.4), ("long", 0.2)),
    max_turns: int = MAX_TURNS,
    tag: str = "load",
) -> list[Call]:
    """``n`` seeded requests: Score/Guard, short/medium/long replies, 0..max_turns context turns."""
    rng = random.Random(seed)
    names, weights = zip(*sizes)
    calls = []
    for i in range(n):
        size = rng.choices(names, weights)[0]
        low, high = SIZES[size]
        reply = " ".join(rng.choice(_REPLY_SENTENCES) for _ in range(rng.randint(low, high)))[:3900]
        turns = rng.randint(0, max_turns)
        context = []
        for t in range(turns):
            # Oldest first, ending on the user's message the reply answers.
            user = (turns - t) % 2 == 1
            text = rng.choice(_USER_LINES if user else _ASSISTANT_LINES)
            context.append(pb.Turn(role=pb.ROLE_USER if user else pb.ROLE_ASSISTANT, text=text))
        rpc = "Guard" if rng.random() < guard_share else "Score"
        kind = pb.GuardRequest if rpc == "Guard" else pb.ScoreRequest
        request = kind(context=context, reply=reply, policy=policy, request_id=f"{tag}-{i}")
        calls.append(Call(rpc, size, turns, request))
    return calls


# --- the driver ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How one call ended, as the client saw it."""

    request_id: str
    rpc: str
    size: str
    code: str  # grpc.StatusCode name
    millis: float
    started: float  # seconds since the run began
    action: str = ""  # Guard: the action name
    reason: str = ""  # Guard: the reason
    details: str = ""  # the status details of a failed call
    same_reply: bool = False  # Guard: the reply to send is the original reply


@dataclass(frozen=True)
class LoadResult:
    """A run's outcomes and its wall time."""

    outcomes: tuple[Outcome, ...]
    wall_s: float
    concurrency: int

    @property
    def codes(self) -> Counter[str]:
        return Counter(o.code for o in self.outcomes)

    def summary(self) -> dict[str, Any]:
        ok = [o for o in self.outcomes if o.code == "OK"]
        out: dict[str, Any] = {
            "calls": len(self.outcomes),
            "concurrency": self.concurrency,
            "wall_s": round(self.wall_s, 2),
            "throughput_per_s": round(len(ok) / self.wall_s, 1) if self.wall_s else 0.0,
            "codes": dict(sorted(self.codes.items())),
            "latency_ms_ok": latency_stats([o.millis for o in ok]),
        }
        by_rpc = {}
        for rpc in sorted({o.rpc for o in self.outcomes}):
            mine = [o.millis for o in ok if o.rpc == rpc]
            by_rpc[rpc] = latency_stats(mine) | {"calls": sum(o.rpc == rpc for o in self.outcomes)}
        out["latency_ms_ok_by_rpc"] = by_rpc
        by_size = {}
        for size in sorted({o.size for o in self.outcomes}):
            by_size[size] = latency_stats([o.millis for o in ok if o.size == size])
        out["latency_ms_ok_by_size"] = by_size
        for code in sorted(set(self.codes) - {"OK"}):
            out[f"latency_ms_{code}"] = latency_stats([o.millis for o in self.outcomes if o.code == code])
        actions = Counter(f"{o.action}/{o.reason}" for o in ok if o.rpc == "Guard")
        if actions:
            out["guard_actions"] = dict(actions.most_common())
        return out


def latency_stats(millis: Sequence[float]) -> dict[str, float]:
    if not millis:
        return {"n": 0}
    ordered = sorted(millis)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))], 2)

    return {"n": len(ordered), "p50": pct(50), "p95": pct(95), "p99": pct(99), "max": round(ordered[-1], 2)}


async def drive(
    target: str,
    calls: Sequence[Call],
    *,
    concurrency: int,
    timeout: float = 30.0,
    credentials: grpc.ChannelCredentials | None = None,
    options: Sequence[tuple[str, Any]] = (),
    on_answer: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> LoadResult:
    """Send ``calls`` with ``concurrency`` in flight at once over one channel; every call gets a status.

    ``on_answer(n)`` runs after each answer with the count so far (e.g. to send SIGTERM mid-run);
    ``stop`` set: no new calls start (the ones in flight finish).
    """
    channel = (
        grpc.aio.secure_channel(target, credentials, options=list(options))
        if credentials is not None
        else grpc.aio.insecure_channel(target, options=list(options))
    )
    stub = pb_grpc.GuardrailStub(channel)
    outcomes: list[Outcome] = []
    pending = iter(calls)
    begun = time.perf_counter()

    async def one(call: Call) -> Outcome:
        started = time.perf_counter()
        method = stub.Guard if call.rpc == "Guard" else stub.Score
        action = reason = details = ""
        same = False
        try:
            response = await method(call.request, timeout=timeout)
            code = "OK"
            if call.rpc == "Guard":
                action, reason = pb.Action.Name(response.action).removeprefix("ACTION_"), response.reason
                same = response.reply == call.request.reply
        except grpc.aio.AioRpcError as err:
            code, details = err.code().name, err.details() or ""
        return Outcome(
            call.request.request_id, call.rpc, call.size, code,
            (time.perf_counter() - started) * 1000, started - begun, action, reason, details[:200], same,
        )  # fmt: skip

    async def worker() -> None:
        for call in pending:
            if stop is not None and stop.is_set():
                return
            outcomes.append(await one(call))
            if on_answer is not None:
                on_answer(len(outcomes))

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await channel.close()
    return LoadResult(tuple(outcomes), time.perf_counter() - begun, concurrency)


# --- the server process ---------------------------------------------------------------------------------


@dataclass
class ServerProcess:
    """A running `theraguard serve`: its address, metrics address, process and log file."""

    target: str
    metrics: str
    process: subprocess.Popen[str]
    stderr_path: Path
    config_path: Path
    stdout_lines: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_mb(self) -> float:
        return rss_mb(self.process.pid)

    def log_text(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def metrics_page(self) -> str:
        import urllib.request

        with urllib.request.urlopen(f"http://{self.metrics}/metrics", timeout=5) as page:
            return page.read().decode("utf-8")


def rss_mb(pid: int) -> float:
    """Resident set size of a process, MB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def edit_config(path: Path, changes: dict[str, Any]) -> None:
    """Deep-merge ``changes`` into the YAML config at ``path``."""
    config = yaml.safe_load(path.read_text(encoding="utf-8"))

    def merge(into: dict[str, Any], update: dict[str, Any]) -> None:
        for key, value in update.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value

    merge(config, changes)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


@contextlib.contextmanager
def serve_process(
    tmp: Path, changes: dict[str, Any] | None = None, *, start_timeout: float = 180.0, log_level: str = "INFO"
) -> Iterator[ServerProcess]:
    """`theraguard serve` on 127.0.0.1:0 with tests/clients' test config plus ``changes``; SIGTERM after.

    The test config (sidecarproc.write_test_config) is config/theraguard.yaml with absolute model paths,
    the CPU provider, no rewriter, and the test policies (lenient, strict, blocker, tunable) beside
    the default one.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    config = write_test_config(tmp)
    if changes:
        edit_config(config, changes)
    stderr_path = tmp / "stderr.log"
    args = ("--log-level", log_level)
    with serve_subprocess(config, stderr_path, args, start_timeout=start_timeout) as served:
        wait_until_serving(served.target)
        yield ServerProcess(served.target, served.metrics, served.process, stderr_path, config, [served.line])


def write_report(path: Path, report: dict[str, Any]) -> None:
    """Stamp the load average at the end into report["machine"], write the report as JSON and say where."""
    if "machine" in report:
        report["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def machine() -> dict[str, Any]:
    """The machine a figure came from."""
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    judge = ""
    with contextlib.suppress(OSError, ValueError, KeyError):
        manifest = json.loads((REPO / "models" / "judge" / "manifest.json").read_text(encoding="utf-8"))
        judge = f"{manifest['name']}@{manifest['version']}"
    return {
        "judge": judge,
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": mem_gb,
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
        "grpcio": grpc.__version__,
    }
