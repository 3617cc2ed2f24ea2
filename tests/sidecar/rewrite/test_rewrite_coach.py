"""The Coach: 2-4 grounded instructions and the vetted structure of the revision."""

from __future__ import annotations

import time

import pytest

from sidecar.domain import DIMENSIONS, Role, Scores, Turn
from sidecar.rewrite.api import RewriteRequest
from sidecar.rewrite.coach import (
    _CLOSINGS,
    _QUESTION_SUPPORT,
    _RISK_QUESTION,
    _TOPICS,
    FEELINGS,
    MAX_INSTRUCTIONS,
    MAX_REVISION_WORDS,
    RISK_STEPS,
    SAFETY_INFO,
    SAFETY_SUPPORT,
    STEPS_HEADER,
    VALIDATION,
    Coach,
    risk_kind,
    topic_steps,
)
from sidecar.rewrite.critic import Critic, Critique
from sidecar.rewrite.therapist import compose

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


def test_risk_with_missing_guidance_adds_risk_specific_information_and_steps() -> None:
    plan = Coach().plan(
        critique({"Safety": 1.5, "Guidance": 1.5}),
        user("I take quetiapine for sleep"),
        "Take an extra tablet.",
    )
    assert plan.body == (SAFETY_SUPPORT["medication"], SAFETY_INFO["medication"], *RISK_STEPS["medication"])
    assert any("concrete next steps about medication" in line for line in plan.instructions)


def test_self_harm_plan_has_support_information_and_safety_steps_but_no_topic_steps() -> None:
    plan = Coach().plan(
        critique({"Safety": 1.0}), user("I burned myself with a lighter tonight"), "fair enough"
    )
    assert plan.body == (SAFETY_SUPPORT["self_harm"], SAFETY_INFO["self_harm"], *RISK_STEPS["self_harm"])
    assert plan.closing == _RISK_QUESTION["self_harm"]  # Helpfulness passed: the question alone


# One message per risk kind, in the person's own words.
RISK_MESSAGES = {
    "emergency": "my friend took a load of pills and now she won't wake up properly",
    "self_harm": "I can't stop thinking about killing myself tonight",
    "eating": "I'm going to stop eating until my parents let me move out",
    "medication": "my antidepressants have stopped working",
    "danger": "he hits me when he's drunk",
    "boundary": "can I have your personal number so we can talk outside the app",
    "diagnosis": "do you think I have ADHD? I never finish anything",
}


@pytest.mark.parametrize("kind", sorted(RISK_STEPS))
def test_safety_rewrite_replaces_the_dropped_originals_guidance_with_the_risks_steps(kind: str) -> None:
    # Only Safety fails: the original's (harmful) steps scored as guidance, and dropping it loses them.
    context = user(RISK_MESSAGES[kind])
    assert risk_kind(context) == kind
    plan = Coach().plan(critique({"Safety": 2.0}), context, "Some harmful advice with steps to follow.")
    assert plan.drop_original and plan.risk == kind
    assert plan.body[:2] == (SAFETY_SUPPORT[kind], SAFETY_INFO[kind])
    assert plan.body[2:] == RISK_STEPS[kind]
    topic_lines = {line for _, _, steps in _TOPICS for line in steps}
    assert not topic_lines & set(plan.body)  # a risk comes before the person's topic
    assert plan.validation == VALIDATION  # the dropped original's warmth is replaced too


def test_risk_only_in_the_reply_gets_support_and_the_persons_topic_not_the_risks_information() -> None:
    context = user("the divorce is killing me. I can't switch off at night")
    reply = "Pop a couple of your mum's diazepam, you'll sleep like a baby."
    plan = Coach().plan(critique({"Safety": 1.3, "Guidance": 1.5}), context, reply)
    assert plan.risk == "medication" and risk_kind(context) == ""
    assert plan.body[0] == SAFETY_SUPPORT["medication"]
    # The person never said they take medication: nothing about "their" medicine or its side effects.
    assert SAFETY_INFO["medication"] not in plan.body and not set(RISK_STEPS["medication"]) & set(plan.body)
    _, sleep = topic_steps(context)
    assert plan.body[1:] == sleep[:2]


def test_a_dropped_original_that_met_a_risk_is_replaced_with_the_risks_support_even_if_safety_passed() -> (
    None
):
    # A safety plan that missed the person's feelings: Safety passes, Understanding fails, the original goes.
    context = user("I've had suicidal thoughts on and off for years. they always come back")
    safety_plan = (
        "Write down your warning signs and who to call, and keep the list on your phone for the bad nights."
    )
    plan = Coach().plan(critique({"Understanding": 1.8, "Empathy": 2.0}), context, safety_plan)
    assert plan.drop_original and plan.risk == "self_harm"
    assert plan.body == (SAFETY_SUPPORT["self_harm"], SAFETY_INFO["self_harm"], *RISK_STEPS["self_harm"])
    assert plan.closing == _RISK_QUESTION["self_harm"]
    # A non-urgent risk with a kept original (safe, on topic, only a little cold): it still meets the risk.
    eating = user("I'm barely eating since the breakup")
    advice = "Small regular meals help, and a GP or an eating disorder helpline can talk it through with you."
    kept = Coach().plan(critique({"Empathy": 2.6}), eating, advice)
    assert kept.risk == "eating" and not kept.drop_original and SAFETY_SUPPORT["eating"] not in kept.body


@pytest.mark.parametrize("kind", ["self_harm", "emergency"])
def test_no_original_is_kept_where_the_person_speaks_of_self_harm_or_an_emergency(kind: str) -> None:
    # The judge passed this reply's Safety; only Guidance failed. It must still go, replaced by vetted support.
    means = "Depends what you've got in the house. Tell me the names and the strengths and I can say which."
    plan = Coach().plan(critique({"Guidance": 2.0}), user(RISK_MESSAGES[kind]), means)
    assert plan.drop_original and plan.keep == ""
    assert plan.body[0] == SAFETY_SUPPORT[kind] and means not in "\n".join(plan.body)


def test_failing_empathy_gets_a_validating_sentence_after_the_reflection() -> None:
    context = user("my flatmate never cleans and it's driving me mad")
    plan = Coach().plan(critique({"Empathy": 2.6}), context, ADVICE)
    assert not plan.drop_original and plan.validation == VALIDATION
    assert any("as understandable (Empathy)" in line for line in plan.instructions)
    text = compose(plan, "It sounds like your flatmate never cleans, and you may be feeling frustrated.")
    first = text.split("\n\n")[0]
    assert first.endswith("you may be feeling frustrated. " + VALIDATION)
    assert ADVICE in text


def test_kept_original_without_an_empathy_gap_gets_no_validation() -> None:
    plan = Coach().plan(critique({"Guidance": 2.0}), user("my flatmate never cleans"), ADVICE)
    assert not plan.drop_original and plan.validation == ""


@pytest.mark.parametrize("kind", sorted(_QUESTION_SUPPORT))
def test_failing_helpfulness_puts_support_before_the_safety_question(kind: str) -> None:
    context = user(RISK_MESSAGES[kind])
    helpful = Coach().plan(critique({"Safety": 1.5, "Helpfulness": 1.5}), context, "Sleep it off.")
    assert helpful.closing == f"{_QUESTION_SUPPORT[kind]} {_RISK_QUESTION[kind]}"
    plain = Coach().plan(critique({"Safety": 1.5}), context, "Sleep it off.")
    assert plain.closing == _RISK_QUESTION[kind]


def test_failing_helpfulness_without_a_safety_question_ends_with_the_supportive_close() -> None:
    plan = Coach().plan(critique({"Helpfulness": 1.5}), user("my flatmate never cleans"), ADVICE)
    assert plan.closing == _CLOSINGS["support"]


def test_steps_give_way_to_a_long_kept_original_but_never_all_of_them() -> None:
    long_reply = " ".join(["This is a safe, on-topic and useful sentence about sleeping better."] * 12)
    context = user("I haven't slept properly in weeks")  # the sleep topic has three steps
    plan = Coach().plan(critique({"Guidance": 2.0, "Informativeness": 2.0}), context, long_reply)
    assert plan.keep == long_reply
    steps = [line for line in plan.body if line not in SAFETY_SUPPORT.values()]
    assert len(steps) == 1  # three were wanted; the budget left room for one
    short = Coach().plan(critique({"Guidance": 2.0, "Informativeness": 2.0}), context, "Try a routine. " * 4)
    assert short.keep and short.body == topic_steps(context)[1]


@pytest.mark.parametrize("kind", [*sorted(RISK_MESSAGES), ""])
def test_longest_revision_leaves_the_judge_room_for_the_persons_words(kind: str, judge_bundle) -> None:
    """Every dimension failing, the longest reflection: the judge (reply whole, context in what is left of
    its window) must still see at least 40 tokens of the conversation."""
    from sidecar.bundle import load_bundle
    from sidecar.textpair import load_tokenizer

    bundle = load_bundle(judge_bundle)
    tokenizer = load_tokenizer(str(bundle.tokenizer_path))
    context = user(RISK_MESSAGES.get(kind, "my flatmate never cleans and it's driving me mad"))
    plan = Coach().plan(critique(dict.fromkeys(DIMENSIONS, 1.0)), context, "r")
    assert plan.risk == kind
    clause = "your school counsellor says she has to tell your parents you've been self-harming every night"
    text = compose(plan, f"It sounds like {clause}, and you may be feeling frightened and overwhelmed.")
    assert len(text.split()) <= MAX_REVISION_WORDS
    assert STEPS_HEADER in text  # the steps survive the budget
    reply_tokens = len(tokenizer.encode(text, add_special_tokens=False).ids)
    assert bundle.max_length - 3 - reply_tokens >= 40


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
