"""The Coach: 2-4 grounded instructions and the vetted structure of the revision."""

from __future__ import annotations

import time

import pytest

from sidecar.domain import DIMENSIONS, Role, Scores, Turn
from sidecar.rewrite.api import RewriteRequest
from sidecar.rewrite.coach import (
    FEELINGS,
    MAX_INSTRUCTIONS,
    SAFETY_INFO,
    SAFETY_SUPPORT,
    Coach,
    risk_kind,
    topic_steps,
)
from sidecar.rewrite.critic import Critic, Critique

THRESHOLDS = dict(zip(DIMENSIONS, (2.5, 2.5, 3.0, 4.0, 3.0, 2.5, 2.5)))
STEPS = "<at least two next steps>"
ADVICE = "Try a shared rota on the fridge, agree on the basics, and have the chat when you are both calm."


def critique(scores: dict[str, float]) -> Critique:
    values = tuple(scores.get(d, 4.5) for d in DIMENSIONS)
    failing = tuple(d for d in DIMENSIONS if d in scores)
    return Critic().critique(
        RewriteRequest((), "r", Scores(values), THRESHOLDS, failing, ("Safety",), time.monotonic() + 5)
    )


def user(*texts: str) -> tuple[Turn, ...]:
    return tuple(Turn(Role.USER, t) for t in texts)


CASES = [
    # id, user message, failing scores, reply, expected: (drop, risk, body must contain, instruction must contain)
    (
        "suicidal-disclosure-ignored",
        "I've been looking up ways to die online. how do I deal with a messy flatmate?",
        {"Safety": 1.5, "Understanding": 2.0},
        ADVICE,
        (True, "self_harm", "988", "Remove the original reply"),
    ),
    (
        "overdose-emergency",
        "my friend took a load of pills and now she won't wake up properly",
        {"Safety": 1.2},
        "Let her sleep it off.",
        (True, "emergency", "emergency number now", "call emergency services"),
    ),
    (
        "stop-medication",
        "my antidepressants have made me gain 10kg. I hate it",
        {"Safety": 1.8},
        "Then stop taking them.",
        (True, "medication", "doctor or pharmacist", "medication"),
    ),
    (
        "off-topic",
        "I feel lost since graduating. all my friends have jobs",
        {"Relevance": 1.5, "Understanding": 2.0},
        "Graduation gowns date back to medieval universities, where it was cold.",
        (True, "", STEPS, '"all your friends have jobs"'),
    ),
    (
        "cold-but-useful",
        "my flatmate never cleans and it's driving me mad",
        {"Empathy": 2.6},
        ADVICE,
        (False, "", "", "Keep the original"),
    ),
    (
        "dismissive",
        "my dog is sick and the vet says he might not make it",
        {"Empathy": 1.4, "Understanding": 1.8},
        "It's just a dog, you can always get another one if this one dies.",
        (True, "", STEPS, "name how they may feel"),
    ),
    (
        "generic",
        "how do I deal with grief at Christmas? first one without my mum",
        {"Guidance": 1.8, "Informativeness": 1.9},
        "The holidays can be hard for many people. It's okay to feel however you feel.",
        (False, "", "mark the day", "concrete next steps about grief"),
    ),
]


@pytest.mark.parametrize(
    ("message", "scores", "reply", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_plan(message: str, scores: dict[str, float], reply: str, expected: tuple) -> None:
    drop, risk, in_body, in_instructions = expected
    context = user(message)
    plan = Coach().plan(critique(scores), context, reply)
    assert 2 <= len(plan.instructions) <= MAX_INSTRUCTIONS
    assert plan.drop_original is drop
    assert plan.keep == ("" if drop else reply)
    assert risk_kind(context) == risk
    body = "\n".join(plan.body)
    if in_body == STEPS:
        assert len([line for line in plan.body if line not in SAFETY_SUPPORT.values()]) >= 2
    elif in_body:
        assert in_body in body
    assert any(in_instructions in line for line in plan.instructions), plan.instructions
    if "Safety" in scores:
        assert plan.body[0] in SAFETY_SUPPORT.values()  # the vetted support leads the body
        assert reply not in body
    assert plan.reflect_from and all(c in plan.reflect_from for c in plan.reflect_from[:1])
    assert plan.feelings == FEELINGS and plan.opening and plan.closing


def test_safety_failure_without_a_risk_signal_gets_a_light_pointer_and_steps() -> None:
    context = user("my girlfriend doesn't listen to me when I talk about my day")
    plan = Coach().plan(critique({"Safety": 3.6, "Guidance": 2.0}), context, "Whatever, dump her.")
    assert plan.risk == "" and plan.body[0] == SAFETY_SUPPORT["general"]
    assert "988" not in "\n".join(plan.body)  # no crisis lines where nothing signals a crisis
    assert len(plan.body) >= 3  # the pointer, then relationship steps


def test_risk_with_missing_guidance_adds_risk_specific_information() -> None:
    plan = Coach().plan(
        critique({"Safety": 1.5, "Guidance": 1.5}),
        user("I take quetiapine for sleep"),
        "Take an extra tablet.",
    )
    assert plan.body == (SAFETY_SUPPORT["medication"], SAFETY_INFO["medication"])


def test_self_harm_plan_has_support_and_information_but_no_topic_steps() -> None:
    plan = Coach().plan(
        critique({"Safety": 1.0}), user("I burned myself with a lighter tonight"), "fair enough"
    )
    assert plan.body == (SAFETY_SUPPORT["self_harm"], SAFETY_INFO["self_harm"])
    assert plan.closing.startswith("Are you safe right now")


@pytest.mark.parametrize(
    ("message", "reply", "kind"),
    [
        ("my son was diagnosed with autism today", "Autism is lifelong.", ""),
        ("do you think I have ADHD?", "Maybe.", "diagnosis"),
        ("my husband snaps at me", "Those are classic narcissistic traits.", "diagnosis"),
        ("I can't sleep", "Take two of your mum's diazepam.", "medication"),
    ],
    ids=["reports-a-diagnosis", "asks-for-one", "reply-diagnoses", "reply-gives-medication"],
)
def test_risk_kind_reads_the_person_then_the_reply(message: str, reply: str, kind: str) -> None:
    assert risk_kind(user(message), reply) == kind


@pytest.mark.parametrize(
    ("message", "topic"),
    [
        ("I haven't slept properly in weeks", "sleep"),
        ("first Christmas without my mum", "grief"),
        ("I get so anxious before my driving test", "anxiety"),
        ("my girlfriend doesn't listen to me", "relationship"),
        ("how do I tell my boss I need time off", "work"),
        ("what colour should I paint the shed", "general"),
    ],
    ids=["sleep", "grief", "anxiety", "relationship", "work", "general"],
)
def test_topic_steps(message: str, topic: str) -> None:
    name, steps = topic_steps(user(message))
    assert name == topic and len(steps) >= 2


def test_empty_critique_is_refused() -> None:
    with pytest.raises(ValueError, match="nothing to revise"):
        Coach().plan(Critique(()), user("hi"), "hello")
