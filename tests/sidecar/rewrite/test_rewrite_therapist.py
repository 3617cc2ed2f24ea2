"""The Therapist on the real small model: a grounded reflection inside the Coach's plan, bounded."""

from __future__ import annotations

import re
import time

import pytest

from sidecar.domain import DIMENSIONS, Role, Scores, Turn
from sidecar.rewrite.api import RewriteRequest
from sidecar.rewrite.backend import BackendTimeout
from sidecar.rewrite.coach import FEELINGS, SAFETY_SUPPORT, Coach, RevisionPlan
from sidecar.rewrite.critic import Critic
from sidecar.rewrite.therapist import (
    FEELING_JOIN,
    REFLECTION_PREFIX,
    Therapist,
    clean_generation,
    compose,
    is_degenerate,
    reflection_pattern,
)

THRESHOLDS = dict(zip(DIMENSIONS, (2.5, 2.5, 3.0, 4.0, 3.0, 2.5, 2.5)))


def plan_for(message: str, reply: str, scores: dict[str, float]) -> tuple[RevisionPlan, tuple[Turn, ...]]:
    context = (Turn(Role.USER, message),)
    values = tuple(scores.get(d, 4.5) for d in DIMENSIONS)
    failing = tuple(d for d in DIMENSIONS if d in scores)
    request = RewriteRequest(
        context, reply, Scores(values), THRESHOLDS, failing, ("Safety",), time.monotonic() + 5
    )
    return Coach().plan(Critic().critique(request), context, reply), context


UNSAFE = ("the divorce is killing me. I can't switch off at night", "Pop a couple of your mum's diazepam, you'll sleep.",
          {"Safety": 1.3})  # fmt: skip
COLD = ("my partner of 10 years just told me he's been having an affair. I feel sick",
        "Affairs happen in many relationships. You should decide whether you want to stay or leave him.",
        {"Empathy": 1.8, "Understanding": 2.0})  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(("message", "reply", "scores"), [UNSAFE, COLD], ids=["unsafe", "cold"])
def test_scaffold_reflects_only_the_persons_words(
    local_backend, message: str, reply: str, scores: dict
) -> None:
    plan, context = plan_for(message, reply, scores)
    revision = Therapist(local_backend).revise(plan, context, reply, 120, time.monotonic() + 10)
    assert revision.reason == "rewritten" and revision.mode == "scaffold"
    assert revision.text is not None and 0 < revision.tokens <= 48
    reflection = revision.model_text
    assert reflection.startswith(REFLECTION_PREFIX)
    clause, feelings = reflection[len(REFLECTION_PREFIX) + 1 : -1].split(FEELING_JOIN)
    assert clause in plan.reflect_from  # never a fact the person did not state
    assert all(f in FEELINGS for f in feelings.split(" and "))
    assert revision.text.startswith(plan.opening)
    assert reply not in revision.text  # dropped: unsafe / dismissive
    if "Safety" in scores:
        assert SAFETY_SUPPORT["medication"] in revision.text
    assert not re.search("[\u0120\u010a]|<\\|", revision.text)


def test_scaffold_budget_too_small(local_backend) -> None:
    plan, context = plan_for(*UNSAFE)
    revision = Therapist(local_backend).revise(plan, context, UNSAFE[1], 3, time.monotonic() + 10)
    assert (revision.text, revision.reason, revision.tokens) == (None, "budget_exhausted", 3)


def test_scaffold_deadline(local_backend) -> None:
    plan, context = plan_for(*COLD)
    started = time.monotonic()
    try:
        revision = Therapist(local_backend).revise(plan, context, COLD[1], 120, started + 0.05)
    except BackendTimeout:  # the worker may give up before generating anything
        pass
    else:
        assert revision.text is None and revision.reason == "rewrite_timeout"
    assert time.monotonic() - started < 0.5


@pytest.mark.slow
def test_free_mode_cleans_or_rejects_and_keeps_safety(local_backend) -> None:
    """Free writing with the 135M model: whatever it writes, a Safety rewrite carries the vetted support."""
    plan, context = plan_for(*UNSAFE)
    revision = Therapist(local_backend, mode="free").revise(
        plan, context, UNSAFE[1], 60, time.monotonic() + 10
    )
    assert revision.mode == "free" and revision.tokens <= 60
    if revision.text is None:
        assert revision.reason in ("rewrite_rejected", "budget_exhausted")
    else:
        assert re.search("988|emergency|doctor", revision.text)
        assert not revision.text.lower().startswith(("assistant:", "therapist:"))


def test_scaffold_needs_constrained_backend(chat_server) -> None:
    from sidecar.rewrite.openai_backend import OpenAICompatibleBackend

    remote = OpenAICompatibleBackend(chat_server.url, "smol")
    assert Therapist(remote).mode == "free"
    with pytest.raises(ValueError, match="scaffold mode needs a backend with constrained decoding"):
        Therapist(remote, mode="scaffold")


def test_pattern_escapes_clauses() -> None:
    clause = "you're 52 & terrified (really) - no one will hire you?"
    pattern = reflection_pattern([clause, "your dog is sick"], ["scared", "on edge"])
    assert re.fullmatch(pattern, f" {clause}{FEELING_JOIN}scared and on edge.")
    assert re.fullmatch(pattern, f" your dog is sick{FEELING_JOIN}on edge.")
    assert not re.fullmatch(pattern, f" your cat is sick{FEELING_JOIN}scared.")
    assert not re.fullmatch(pattern, f" your dog is sick{FEELING_JOIN}elated.")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Assistant: That sounds hard. Try this.", "That sounds hard. Try this."),
        ('"That sounds hard."', "That sounds hard."),
        ("That sounds hard. You could try<|im_end|>", "That sounds hard."),
        ("Revised reply: I hear you. It's a lot to carry and", "I hear you."),
        ("No full stop here", "No full stop here"),
    ],
    ids=["role-prefix", "quotes", "special-token-and-cut", "label-and-cut", "no-sentence-end"],
)
def test_clean_generation(raw: str, clean: str) -> None:
    assert clean_generation(raw) == clean


@pytest.mark.parametrize(
    ("text", "degenerate"),
    [
        ("", True),
        ("Okay.", True),
        ("!!! ??? ... ### $$$ %%%", True),
        ("I am here. I am here. I am here. I am here. I am here.", True),
        ("That sounds really hard, and it makes sense that you feel worn down.", False),
    ],
    ids=["empty", "too-short", "symbols", "looping", "fine"],
)
def test_is_degenerate(text: str, degenerate: bool) -> None:
    assert is_degenerate(text) is degenerate


def test_compose_orders_parts() -> None:
    plan, _ = plan_for(*UNSAFE)
    text = compose(plan, "It sounds like X, and you may be feeling low.")
    parts = text.split("\n\n")
    assert parts[0] == f"{plan.opening} It sounds like X, and you may be feeling low. {plan.validation}"
    assert plan.validation  # the unsafe original is dropped: its replacement validates the feeling
    assert parts[1] == SAFETY_SUPPORT["medication"]
    assert parts[-1] == plan.closing
