"""Grounded reflection material: second-person clauses from the person's own words."""

from __future__ import annotations

import pytest

from sidecar.domain import Role, Turn
from sidecar.rewrite.reflection import clauses, concern, reflectable, salience, swap_person


@pytest.mark.parametrize(
    ("text", "swapped"),
    [
        ("I can't sleep", "you can't sleep"),
        ("I'm scared of my dad", "you're scared of your dad"),
        ("I was bullied and I am tired", "you were bullied and you are tired"),
        ("my son was diagnosed", "your son was diagnosed"),
        ("I hurt myself", "you hurt yourself"),
        ("we've lost our home", "you've lost your home"),
        ("my people-pleasing", "your people-pleasing"),
        ("I\u2019ve tried", "you've tried"),
    ],
    ids=[
        "simple",
        "contraction-possessive",
        "was-after-I",
        "was-not-after-I",
        "reflexive",
        "plural",
        "hyphen",
        "curly-apostrophe",
    ],
)
def test_swap_person(text: str, swapped: str) -> None:
    assert swap_person(text) == swapped


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "my parents are getting divorced and I'm 16. I feel like it's my fault",
            ("your parents are getting divorced", "you feel like it's your fault"),
        ),
        (
            "I'm going to stop eating and drinking until my parents let me move out",
            ("you're going to stop eating and drinking until your parents let you move out",),
        ),
        (
            "what should I do when my 6 year old has a massive meltdown in public?",
            ("your 6 year old has a massive meltdown in public",),
        ),
        (
            "what are some ways to cope with seasonal depression in winter?",
            ("you have a question about seasonal depression in winter",),
        ),
        ("can I have your personal number so I can talk to you outside the app", ()),
        ("ok. what does that mean?", ()),
        ("since the breakup I barely eat tbh", ("since the breakup you barely eat",)),
        (
            "called in sick for the third time this month",
            ("you called in sick for the third time this month",),
        ),
        ("feels good to clear everything out", ("it feels good to clear everything out",)),
    ],
    ids=[
        "two-clauses",
        "and-inside-a-clause",
        "question-when",
        "question-topic",
        "addressed-to-assistant",
        "bare-question",
        "trailing-filler",
        "subject-restored-past",
        "subject-restored-it",
    ],
)
def test_clauses(message: str, expected: tuple[str, ...]) -> None:
    assert clauses(message) == expected


def test_reflectable_prefers_last_message_and_salient_clauses() -> None:
    context = (
        Turn(Role.USER, "work has been awful lately"),
        Turn(Role.ASSISTANT, "I'm sorry. What's been making it so hard?"),
        Turn(Role.USER, "my boss keeps making comments about my body. it's making me dread going in"),
    )
    found = reflectable(context)
    assert found[0] == "it's making you dread going in"  # "dread" is a strain word
    assert "work has been awful lately" not in found
    assert salience(found[0]) >= salience(found[-1])


def test_reflectable_falls_back_to_earlier_turns() -> None:
    context = (Turn(Role.USER, "I've been feeling really low since my miscarriage"), Turn(Role.USER, "hard."))
    assert reflectable(context) == ("you've been feeling really low",)


def test_concern_is_the_most_specific_clause() -> None:
    context = (
        Turn(Role.USER, "I don't want kids and my partner does. I love him but I don't see how this works"),
    )
    assert concern(context) == "you don't see how this works"
