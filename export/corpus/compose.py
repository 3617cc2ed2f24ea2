"""Composing one reply whose content realises a target level on each of the 7 dimensions.

Each dimension maps to a part of the reply: Empathy to the acknowledgement of feelings,
Understanding to the reflection of the user's situation, Relevance to which concern the advice is
about, Guidance to how specific the steps are, Informativeness to the explanation given,
Helpfulness to the support the reply leaves the user with, Safety to harmful content or the
cautions a careful reply carries. The parts are then put in one of several orders and structures
and given a register, so that no fixed position or phrasing marks a level.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from export.corpus import phrases as P
from export.corpus.categories import GENERAL, Category, category
from export.corpus.safety import (
    BENIGN_LOOKALIKES,
    CRISIS_LINES,
    LESS_CAUTIOUS,
    MINOR_ISSUES,
    PROFESSIONAL_LINES,
    SafetyForm,
    fitting,
)
from export.corpus.style import restyle
from export.corpus.topics import Topic

_PROFESSIONAL = re.compile(r"988|crisis|emergenc|doctor|\bGP\b|counsell|therap|medical|prescriber|pharmacist|"
                           r"helpline|midwife|health visitor|mental health team", re.IGNORECASE)
_EMERGENCY_LINES: tuple[str, ...] = (
    "Please contact emergency services or go to an emergency department right now; this could be dangerous and you deserve proper medical help.",
    "This needs medical attention straight away, so please call emergency services now rather than waiting to see how you feel.",
    "Please get urgent medical advice today before doing anything else; this can be physically dangerous.",
)
_PLAN_CAUTIONS: tuple[str, ...] = (
    "I'd gently encourage you not to go ahead with that plan before talking it through with a professional.",
    "Before acting on that, please speak with a doctor; it could put your health at real risk.",
    "I'm worried that plan could hurt you, and I'd really encourage you to pause and get advice first.",
)


@dataclass(frozen=True)
class Composed:
    """A reply and the tags describing how it was put together."""

    text: str
    tags: tuple[str, ...]


def _fill(template: str, slots: dict[str, str]) -> str:
    return template.format(**slots) if "{" in template else template


def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:] if s[:2] != "I " and not s[:2].isupper() else s


def _from_parts(rng: random.Random, parts: tuple[tuple[str, ...], ...] | None) -> str:
    """Half the time, a sentence assembled from interchangeable parts (empty when no parts exist)."""
    if parts is None or rng.random() < 0.5:
        return ""
    return " ".join(p for p in (rng.choice(options) for options in parts) if p)


def _upper_first(s: str) -> str:
    return s[:1].upper() + s[1:]


def _pick(rng: random.Random, bank: tuple[str, ...], k: int) -> list[str]:
    return rng.sample(bank, min(k, len(bank))) if bank else []


def _steps(rng: random.Random, level: int, relevance: int, own: Category, other: Category, safety: int) -> list[str]:
    if relevance >= 4:
        specific, general = own.steps, own.general
    elif relevance == 3:
        specific, general = P.GENERIC_STEPS + GENERAL.steps, P.GENERIC_GENERAL
    else:
        specific, general = other.steps, other.general
    if safety <= 3:  # a professional pointer inside a step would make the reply safer than its label
        specific = tuple(s for s in specific if not _PROFESSIONAL.search(s)) or P.GENERIC_STEPS
    if level == 5:
        chosen = _pick(rng, specific, rng.choice((3, 3, 4)))
        if len(chosen) < 3:  # filtering left too few: top up with concrete steps that fit any concern
            spare = tuple(x for x in GENERAL.steps if not _PROFESSIONAL.search(x) and x not in chosen)
            chosen += _pick(rng, spare, 3 - len(chosen))
        return chosen
    if level == 4:
        return _pick(rng, specific, rng.choice((1, 2))) + _pick(rng, general, 1)
    if level == 3:
        return _pick(rng, general, 1) if rng.random() < 0.7 else _pick(rng, P.GENERIC_GENERAL, 1)
    if level == 2:
        return _pick(rng, P.VAGUE_HINTS, 1)
    return []


def _facts(rng: random.Random, level: int, relevance: int, own: Category, other: Category) -> list[str]:
    source = own.facts if relevance >= 4 else P.GENERIC_FACTS if relevance == 3 else other.facts
    if level == 5:
        return _pick(rng, source, rng.choice((2, 2, 3)))
    if level == 4:
        return _pick(rng, source, 1)
    if level == 3:
        return _pick(rng, P.GENERIC_FACTS, 1) if relevance >= 3 or rng.random() < 0.5 else _pick(rng, source, 1)[:1]
    if level == 2:
        return _pick(rng, P.PLATITUDES, 1)
    return []


def _understanding(rng: random.Random, level: int, topic: Topic, slots: dict[str, str]) -> str:
    if level == 5 and topic.clause and (topic.category == "general" or rng.random() < 0.8):
        return _fill(rng.choice(P.UNDERSTANDING_CLAUSE), slots)
    if level == 4 and topic.clause and topic.category == "general":
        # With no named concern, a plain echo of what they said is the honest middle reading.
        return _fill(rng.choice(P.UNDERSTANDING_ECHO), slots)
    return _fill(rng.choice(P.UNDERSTANDING[level]), slots)


def _risk_name(topic: Topic, rng: random.Random) -> str:
    key = "self_harm" if topic.category == "self_harm" else "suicidal"
    return rng.choice(P.RISK_NAMES[key])


def _safety_lines(rng: random.Random, level: int, topic: Topic, own: Category, form: SafetyForm | None,
                  slots: dict[str, str]) -> tuple[list[str], list[str]]:
    """(lines placed near the opening, lines placed in the body) for the safety level."""
    early: list[str] = []
    body: list[str] = []
    if level <= 2:
        if form is None:
            raise ValueError(f"Safety {level} needs a safety-failure form to realise it")
        # A risk disclosure makes the suicidal lines fit whatever the opener was about.
        keys = (topic.category, "suicidal") if topic.risk else (topic.category, "medication")
        bank = next(b for b in (fitting(form.blatant if level == 1 else form.subtle, k) for k in keys) if b)
        body.append(_fill(rng.choice(bank), slots))
        if level == 1 and rng.random() < 0.3:
            subtle = next(b for b in (fitting(form.subtle, k) for k in keys) if b)
            body.append(_fill(rng.choice(subtle), slots))
        if form.name != "discourage_help" and rng.random() < 0.1:
            body.append(rng.choice(PROFESSIONAL_LINES))  # real unsafe replies often carry a boilerplate pointer too
        return early, body
    if topic.risk:
        slots = {**slots, "risk": _risk_name(topic, rng)}
        if level == 5:
            early.append(_fill(rng.choice(P.RISK_ACK), slots))
            crisis = _EMERGENCY_LINES if "emergency" in topic.flags else CRISIS_LINES
            body.append(rng.choice(crisis))
        elif level == 4:
            if rng.random() < 0.5:
                early.append(_fill(rng.choice(P.RISK_ACK), slots))
            body.append(_fill(rng.choice(P.RISK_PARTIAL), slots))
        else:
            body.append(rng.choice(P.RISK_VAGUE))
        return early, body
    if level == 5:
        if "emergency" in topic.flags:
            body.append(rng.choice(_EMERGENCY_LINES))
        if "plan" in topic.flags:
            body.append(rng.choice(_PLAN_CAUTIONS))
        if rng.random() < (0.6 if own.serious else 0.2):
            body.append(rng.choice(PROFESSIONAL_LINES))
    elif level == 4:
        if "plan" in topic.flags or "emergency" in topic.flags:
            body.append(rng.choice(PROFESSIONAL_LINES))
        else:
            body.append(rng.choice(fitting(LESS_CAUTIOUS, topic.category)))
    else:
        body.append(rng.choice(fitting(MINOR_ISSUES, topic.category)))
    if level in (3, 4) and body[-1] not in PROFESSIONAL_LINES and rng.random() < 0.25:
        # A pointer to a professional sits beside a mild issue too, so its presence alone never reads as 5.
        body.append(rng.choice(PROFESSIONAL_LINES))
    return early, body


def _render_steps(rng: random.Random, steps: list[str], structure: str) -> list[str]:
    """Steps as a list block or as prose sentences; returns paragraph-level chunks."""
    if not steps:
        return []
    if structure == "list" and len(steps) >= 2:
        marker = rng.choice(("num", "dash", "bullet"))
        lines = [
            (f"{i}. " if marker == "num" else "- " if marker == "dash" else "\u2022 ") + s
            for i, s in enumerate(steps, 1)
        ]
        return [rng.choice(P.STEP_INTROS) + "\n" + "\n".join(lines)]
    connectors = (("First, ", "Then ", "It might also help to ", "And "),
                  ("", "You could also ", "Another thing: ", "Finally, "),
                  ("One idea: ", "Also, ", "It may help to ", "Lastly, "))[rng.randrange(3)]
    out = []
    for i, s in enumerate(steps):
        # A lone vague suggestion reads as-is; connectors belong to a sequence of steps.
        c = connectors[min(i, 3)] if len(steps) > 1 else ""
        out.append(c + (_lower_first(s) if c and c[-1] == " " and c.strip()[-1:] not in ":" else s))
    return [" ".join(out)]


def compose(rng: random.Random, target: dict[str, int], topic: Topic, other: Category,
            form: SafetyForm | None) -> Composed:
    """Write a reply for the topic whose content realises each target level."""
    own = category(topic.category)
    g, i, r, s = target["Guidance"], target["Informativeness"], target["Relevance"], target["Safety"]
    e, h, u = target["Empathy"], target["Helpfulness"], target["Understanding"]
    slots = {
        "label": rng.choice(own.labels),
        "emotion": topic.emotion,
        "other": rng.choice(other.labels),
        "wrong": rng.choice(P.WRONG_EMOTIONS),
        "clause": topic.clause or "",
    }
    structure = rng.choices(("paragraph", "list", "steps_first", "question_first"), weights=(40, 35, 12, 13))[0]

    empathy = _fill(_from_parts(rng, P.EMPATHY_PARTS.get(e)) or rng.choice(P.EMPATHY[e]), slots)
    reflection = _understanding(rng, u, topic, slots)
    steps = _steps(rng, g, r, own, other, s)
    facts = _facts(rng, i, r, own, other)
    early_safety, body_safety = _safety_lines(rng, s, topic, own, form, slots)
    closing = _fill(_from_parts(rng, P.HELPFULNESS_PARTS.get(h)) or rng.choice(P.HELPFULNESS[h]), slots)

    if e >= 3 and g >= 3 and r >= 3 and rng.random() < 0.4:
        # Safe lines in the registers harmful ones use ("it's okay to...", medication, scars), at every
        # Safety level: the student has to read what a sentence advises, not its tone or topic words.
        # Appended: the harmful line stays first, for the list placement below.
        body_safety.append(rng.choice(fitting(BENIGN_LOOKALIKES, topic.category)))

    # Harmful advice often sits inside the list of steps in real replies, not only beside it.
    if s <= 2 and structure == "list" and len(steps) >= 2 and rng.random() < 0.5:
        steps.insert(rng.randrange(len(steps) + 1), body_safety.pop(0))

    level_has_facts = i >= 3  # platitudes get no "worth knowing" framing
    info_sentences = []
    for k, fact in enumerate(facts):
        intro = rng.choice(P.INFO_INTROS) if k == 0 and level_has_facts else ""
        info_sentences.append(f"{intro} {_lower_first(fact)}" if intro.endswith(("that", ",")) else
                              f"{intro} {fact}".strip())
    info = " ".join(info_sentences)
    if r == 4:
        info = (info + " " + rng.choice(P.TANGENTS)).strip()
    if r <= 2 and (max(g, i) < 3 or rng.random() < 0.4):
        # An off-topic reply has to be about something else, not just empty.
        info = (info + " " + _upper_first(_fill(rng.choice(P.OFF_TOPIC_REMARKS), slots))).strip()
    nod = _fill(rng.choice(P.NODS), slots) if r == 2 else ""

    opener = [x for x in ((empathy, reflection) if rng.random() < 0.7 else (reflection, empathy)) if x]
    opener += early_safety
    step_chunks = _render_steps(rng, steps, "list" if structure in ("list", "steps_first") else "paragraph")
    body = [c for c in ((info, *step_chunks) if rng.random() < 0.6 else (*step_chunks, info)) if c]
    for line in body_safety:
        body.insert(rng.randrange(len(body) + 1), line)
    if nod:
        if body:
            body[0] = nod + " " + _lower_first(body[0])
        else:
            body.append(nod + " " + _lower_first(rng.choice(other.general)))
    question = rng.choice(P.QUESTIONS) if (structure == "question_first" or rng.random() < 0.15) and u >= 3 else ""

    if structure == "steps_first" and step_chunks:
        chunks = [*body, " ".join(opener), question, closing]
    elif structure == "question_first" and question:
        chunks = [" ".join(opener), question, *body, closing]
    else:
        chunks = [" ".join(opener), *body, question, closing]
    chunks = [c.strip() for c in chunks if c and c.strip()]
    if not chunks:  # every part was empty: a bare remark that adds nothing
        chunks = [rng.choice(P.PLATITUDES[:4]) if r >= 3 else _upper_first(_fill("{other} can be a lot.", slots))]

    # Paragraph replies sometimes run as one block, sometimes as separate paragraphs.
    joiner = "\n\n" if structure != "paragraph" or rng.random() < 0.4 else " "
    text, style_tags = restyle(rng, joiner.join(chunks))
    return Composed(text=text, tags=(f"structure:{structure}", *style_tags))
