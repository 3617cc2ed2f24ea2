"""Policies: validation messages, decide(), and hot reload (good file applied, bad file rejected)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
import yaml
from sidecar_harness import POLICY_FILE, RunningSidecar, sidecar_config

from sidecar.config import ConfigError
from sidecar.domain import DIMENSIONS, Scores
from sidecar.pb import guardrail_pb2 as pb
from sidecar.policy import PolicyStore, Verdict, decide, load_policies, parse_policies

BASE = yaml.safe_load(POLICY_FILE.read_text())


def _with(change: Callable[[dict], None]) -> str:
    data = yaml.safe_load(POLICY_FILE.read_text())
    change(data)
    return yaml.safe_dump(data)


def _default(data: dict) -> dict:
    return data["policies"]["default"]


def test_shipped_policy_file_loads() -> None:
    policies = load_policies(POLICY_FILE)
    policy = policies.get("")
    assert policy.name == "default" and policy.critical == ("Safety",)
    assert policy.thresholds["Safety"] == 4.4 and not policy.shadow
    assert policies.version(policy).startswith("default@") and len(policies.digest) == 64


BAD_POLICIES = [
    ("threshold_above_5", lambda d: _default(d)["thresholds"].update(Safety=7), "threshold for Safety must be in [1, 5] (got: 7)"),
    ("threshold_not_number", lambda d: _default(d)["thresholds"].update(Empathy="high"), "threshold for Empathy must be in [1, 5]"),
    ("missing_dimension", lambda d: _default(d)["thresholds"].pop("Relevance"), "thresholds is missing Relevance"),
    ("unknown_dimension", lambda d: _default(d)["thresholds"].update(Saftey=3), "unknown dimension 'Saftey'"),
    ("unknown_action", lambda d: _default(d).update(on_failure="ignore"), "on_failure must be one of rewrite, block, flag (got: 'ignore')"),
    ("critical_flagged", lambda d: _default(d).update(actions={"Safety": "flag"}), "Safety is critical, so its action must be rewrite or block"),
    ("unknown_key", lambda d: _default(d).update(treshold={}), "unknown key 'treshold'"),
    ("unknown_fail_open_key", lambda d: _default(d)["fail_open"].update(judge_down=True), "unknown key 'judge_down'"),
    ("fail_open_not_bool", lambda d: _default(d)["fail_open"].update(overload="yes"), "fail_open.overload must be true or false"),
    ("empty_fallback", lambda d: _default(d).update(fallback_reply="  "), "fallback_reply must be a non-empty"),
    ("default_missing", lambda d: d.update(default_policy="tenant-a"), "default_policy 'tenant-a' is not defined"),
    ("overridable_unknown", lambda d: _default(d).update(overridable=["Kindness"]), "unknown dimension 'Kindness'"),
    ("critical_not_list", lambda d: _default(d).update(critical="Safety"), "critical must be a list of dimension names"),
    ("no_policies", lambda d: d.update(policies={}), "policies must define at least one policy"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"), [c[1:] for c in BAD_POLICIES], ids=[c[0] for c in BAD_POLICIES]
)
def test_invalid_policy_is_rejected_with_a_clear_message(
    change: Callable[[dict], None], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policies(_with(change))
    assert message in str(caught.value)


def _scores(**low: float) -> Scores:
    return Scores(tuple(low.get(d, 4.8) for d in DIMENSIONS))


DECISIONS = [
    ("all_pass", {}, {}, Verdict.PASS, ()),
    ("safety_fails_rewrite", {"Safety": 3.0}, {}, Verdict.REWRITE, ("Safety",)),
    ("exactly_at_threshold_passes", {"Safety": 4.4}, {}, Verdict.PASS, ()),
    ("just_below_threshold_fails", {"Safety": 4.39}, {}, Verdict.REWRITE, ("Safety",)),
    ("flag_only", {"Relevance": 2.0}, {"actions": {"Relevance": "flag"}}, Verdict.FLAG, ("Relevance",)),
    ("rewrite_beats_flag", {"Relevance": 2.0, "Safety": 1.0}, {"actions": {"Relevance": "flag"}}, Verdict.REWRITE, ("Relevance", "Safety")),
    ("block_beats_rewrite", {"Empathy": 1.0, "Safety": 1.0}, {"actions": {"Empathy": "block"}}, Verdict.BLOCK, ("Safety", "Empathy")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("low", "policy_change", "verdict", "failing"), [c[1:] for c in DECISIONS], ids=[c[0] for c in DECISIONS]
)
def test_decide(low: dict, policy_change: dict, verdict: Verdict, failing: tuple) -> None:
    policy = parse_policies(_with(lambda d: _default(d).update(policy_change))).get("")
    decision = decide(_scores(**low), policy)
    assert decision.verdict is verdict and decision.failing == failing
    assert decision.critical_failing == tuple(d for d in failing if d == "Safety")


def test_overrides_apply_only_where_allowed() -> None:
    policy = parse_policies(_with(lambda d: _default(d).update(overridable=["Empathy"]))).get("")
    assert policy.thresholds_with({"Empathy": 1.5})[DIMENSIONS.index("Empathy")] == 1.5
    assert (
        decide(_scores(Empathy=2.0), policy, policy.thresholds_with({"Empathy": 1.5})).verdict is Verdict.PASS
    )
    with pytest.raises(Exception, match="does not allow overriding the Safety threshold"):
        policy.thresholds_with({"Safety": 1.0})


def test_store_keeps_old_policies_when_the_new_file_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_FILE.read_text())
    results: list[str] = []
    store = PolicyStore(path, on_reload=results.append)
    old = store.current
    _rewrite(path, "policies: [not, a, mapping]\n")
    assert store.changed() and store.reload() is False
    assert store.current is old and results == ["rejected"]
    _rewrite(path, _with(lambda d: _default(d)["thresholds"].update(Safety=4.5)))
    assert store.reload() is True and store.current.get("").thresholds["Safety"] == 4.5
    assert results == ["rejected", "applied"]


def _rewrite(path: Path, text: str) -> None:
    path.write_text(text)
    # Make sure the change is visible to an mtime check even on coarse-grained filesystems.
    stamp = time.time_ns() + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def test_running_sidecar_reloads_good_file_and_keeps_old_on_bad(
    start_sidecar: Callable[..., RunningSidecar], tmp_path: Path
) -> None:
    running = start_sidecar(sidecar_config(tmp_path))
    policy_path = tmp_path / "policy.yaml"
    stub = running.stub()
    request = pb.ScoreRequest(reply="That sounds hard. Do you want to talk about it?", policy="strict")
    with pytest.raises(grpc.RpcError) as caught:
        stub.Score(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    def add_strict(data: dict) -> None:
        strict = dict(_default(data), thresholds={d: 4.9 for d in DIMENSIONS}, overridable=["Empathy"])
        data["policies"]["strict"] = strict

    _rewrite(policy_path, _with(add_strict))  # picked up by the file watch
    response = _eventually(lambda: stub.Score(request, timeout=10))
    assert response.versions.policy.startswith("strict@")
    assert all(s.threshold == pytest.approx(4.9) for s in response.scores)

    _rewrite(policy_path, "default_policy: default\npolicies:\n  default:\n    thresholds: {Safety: 9}\n")
    _wait(lambda: running.server.metrics.policy_reloads.labels("rejected")._value.get() >= 1)
    still = stub.Score(request, timeout=10)  # the old (valid) policies are still in force
    assert still.versions.policy == response.versions.policy

    running.server.reload_policies()  # what SIGHUP does: same bad file, still rejected
    assert stub.Score(request, timeout=10).versions.policy == response.versions.policy


def _eventually(call: Callable[[], object], timeout: float = 10.0) -> object:
    until = time.monotonic() + timeout
    while True:
        try:
            return call()
        except grpc.RpcError:
            if time.monotonic() > until:
                raise
            time.sleep(0.1)


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    until = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < until, "condition not reached in time"
        time.sleep(0.05)
