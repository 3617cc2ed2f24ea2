"""The Node.js client (clients/node, @grpc/grpc-js + @grpc/proto-loader) against the real sidecar
process: the proto works outside Python, and Node sees exactly what a Python client sees."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sidecarproc import SidecarProcess

from sidecar.domain import DIMENSIONS
from sidecar.pb import guardrail_pb2 as pb
from sidecar.pb import guardrail_pb2_grpc as pb_grpc

pytestmark = pytest.mark.slow  # starts the sidecar process and Node.js (a few seconds)

CONVERSATIONS = [
    ("supportive reply",
     ["user: I failed my exam again and I feel like I'm worthless."],
     ("I'm sorry, that sounds really painful. Failing an exam doesn't define your worth. Would it help to "
     "talk about what happened and plan one small next step together?")),
    ("dismissive reply",
     ["user: I can't sleep and I keep thinking everyone would be better off without me."],
     "Just try to think positive and drink less coffee."),
    ("no context", [], "Have you considered talking to someone you trust about this?"),
    ("multi-turn",
     ["user: My partner left last week.", "assistant: That sounds very hard. How are you coping?",
      "user: Not well, I just stay in bed."],
     "It makes sense to feel flattened after a loss like this. Could you try one small thing today, like a short walk?"),
]  # fmt: skip


def run_node(client: Path, *args: str, expect_rc: int = 0) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node
    result = subprocess.run(
        [node, str(client / "bin" / "theraguard.js"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == expect_rc, (
        f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    )
    return result


def node_call(
    client: Path, sidecar: SidecarProcess, command: str, context: list[str], reply: str, *extra: str
) -> Any:
    args = [command, "--target", sidecar.target, "--reply", reply, "--json", *extra]
    for turn in context:
        args += ["--context", turn]
    return json.loads(run_node(client, *args).stdout)


def python_request(context: list[str], reply: str, policy: str = "", **fields: Any) -> dict[str, Any]:
    roles = {"user": pb.ROLE_USER, "assistant": pb.ROLE_ASSISTANT}
    turns = [pb.Turn(role=roles[t.split(":", 1)[0]], text=t.split(":", 1)[1].strip()) for t in context]
    return {"context": turns, "reply": reply, "policy": policy, **fields}


def python_stub(sidecar: SidecarProcess) -> pb_grpc.GuardrailStub:
    return pb_grpc.GuardrailStub(sidecar.channel())


def dimension_name(value: int) -> str:
    return pb.Dimension.Name(value).removeprefix("DIMENSION_").capitalize()


@pytest.mark.parametrize(("label", "context", "reply"), CONVERSATIONS, ids=[c[0] for c in CONVERSATIONS])
def test_score_from_node_equals_score_from_python(
    label: str, context: list[str], reply: str, node_client: Path, sidecar_process: SidecarProcess
) -> None:
    node = node_call(node_client, sidecar_process, "score", context, reply, "--request-id", f"node-{label}")
    python = python_stub(sidecar_process).Score(pb.ScoreRequest(**python_request(context, reply)), timeout=30)

    assert [s["dimension"] for s in node["scores"]] == list(DIMENSIONS)
    thresholds = sidecar_process.policy["policies"]["default"]["thresholds"]
    for ours, theirs in zip(node["scores"], python.scores, strict=True):
        assert ours["dimension"] == dimension_name(theirs.dimension)
        assert ours["score"] == pytest.approx(theirs.score, abs=1e-6)
        assert 1.0 <= ours["score"] <= 5.0
        assert ours["threshold"] == pytest.approx(thresholds[ours["dimension"]])
        assert ours["passed"] == (ours["score"] >= ours["threshold"])
        assert ours["critical"] == (ours["dimension"] == "Safety")
    assert node["failed"] == [s["dimension"] for s in node["scores"] if not s["passed"]]
    assert node["failed"] == [dimension_name(d) for d in python.failed]
    assert node["requestId"] == f"node-{label}"
    assert node["versions"]["judge"] == python.versions.judge != ""
    assert node["versions"]["executionProvider"] == "CPUExecutionProvider"
    assert node["timings"]["total"] > 0


@pytest.mark.parametrize(
    ("policy", "check"),
    [
        ("lenient", lambda r, reply, fallback: r["action"] == "pass" and r["reply"] == reply and r["failed"] == []),
        ("strict", lambda r, reply, fallback: "Safety" in r["failed"] and r["action"] == "fallback" and r["reply"] == fallback),
        ("blocker", lambda r, reply, fallback: r["failed"] != [] and r["action"] == "blocked" and r["reply"] == ""),
    ],
)  # fmt: skip
def test_guard_from_node_applies_the_policy(
    policy: str, check: Any, node_client: Path, sidecar_process: SidecarProcess
) -> None:
    _, context, reply = CONVERSATIONS[1]
    node = node_call(node_client, sidecar_process, "guard", context, reply, "--policy", policy)
    fallback = sidecar_process.policy["policies"][policy]["fallback_reply"]
    assert check(node, reply, fallback), node
    assert node["versions"]["policy"].startswith(f"{policy}@")
    assert len(node["scoresBefore"]) == 7 and node["scoresAfter"] == []  # no rewriter in this config
    python = python_stub(sidecar_process).Guard(
        pb.GuardRequest(**python_request(context, reply, policy)), timeout=30
    )
    assert node["action"] == pb.Action.Name(python.action).removeprefix("ACTION_").lower()
    assert (node["reply"], node["reason"]) == (python.reply, python.reason)


def test_threshold_override_from_node(node_client: Path, sidecar_process: SidecarProcess) -> None:
    _, context, reply = CONVERSATIONS[1]
    node = node_call(
        node_client,
        sidecar_process,
        "score",
        context,
        reply,
        "--policy",
        "tunable",
        "--override",
        "Relevance=1",
    )
    by_dim = {s["dimension"]: s for s in node["scores"]}
    assert by_dim["Relevance"]["threshold"] == 1.0 and by_dim["Relevance"]["passed"] is True
    assert by_dim["Safety"]["threshold"] == pytest.approx(
        sidecar_process.policy["policies"]["tunable"]["thresholds"]["Safety"]
    )


@pytest.mark.parametrize(
    ("label", "args", "message"),
    [
        ("empty reply", ["--reply", ""], "INVALID_ARGUMENT"),
        ("unknown policy", ["--reply", "ok", "--policy", "nope"], "INVALID_ARGUMENT: policy: unknown policy 'nope'"),
        ("override not allowed", ["--reply", "ok", "--override", "Safety=1"],
         "does not allow overriding the Safety threshold"),
        ("context without role", ["--reply", "ok", "--context", "robot: hi"], 'role must be "user" or "assistant"'),
    ],
)  # fmt: skip
def test_bad_requests_come_back_as_grpc_errors(
    label: str, args: list[str], message: str, node_client: Path, sidecar_process: SidecarProcess
) -> None:
    expect_rc = 2 if label == "context without role" else 1  # caught in the client before any call
    result = run_node(node_client, "guard", "--target", sidecar_process.target, *args, expect_rc=expect_rc)
    assert message in result.stderr, result.stderr


def test_module_api_with_concurrent_calls(node_client: Path, sidecar_process: SidecarProcess) -> None:
    """The client module as a chat service would use it: one client, many calls in flight."""
    script = """
const { GuardrailClient } = require(process.argv[1]);
const client = new GuardrailClient(process.argv[2], { timeoutMs: 30000 });
const calls = [];
for (let i = 0; i < 8; i++) {
  calls.push(client.score({ context: [{ role: 'user', text: 'I feel alone.' }], reply: `Reply number ${i}.`, requestId: `c${i}` }));
}
calls.push(client.guard({ reply: 'You are not alone; I am here to listen.', policy: 'lenient' }));
Promise.all(calls).then((results) => { console.log(JSON.stringify(results)); client.close(); },
                        (err) => { console.error(err.codeName, err.details); process.exit(1); });
"""
    node = shutil.which("node")
    assert node
    result = subprocess.run(
        [node, "-e", script, str(node_client / "src" / "client.js"), sidecar_process.target],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    assert [r["requestId"] for r in results[:8]] == [f"c{i}" for i in range(8)]
    assert all(len(r["scores"]) == 7 for r in results[:8])
    assert results[8]["action"] == "pass"


def test_human_readable_output(node_client: Path, sidecar_process: SidecarProcess) -> None:
    out = run_node(
        node_client,
        "guard",
        "--target",
        sidecar_process.target,
        "--reply",
        "I hear you.",
        "--policy",
        "lenient",
    )
    assert out.stdout.startswith("action: pass  reason: passed\nreply: I hear you.\n")
    assert "Safety" in out.stdout and "provider: CPUExecutionProvider" in out.stdout
