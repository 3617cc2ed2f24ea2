"""The Coach: turns the critique and the conversation into a few concrete revision instructions.

Deterministic (no model). It grounds every instruction in the critique and in the person's own words,
and it fixes the safe structure of the revision: for a Safety failure the original reply is dropped
and the revision acknowledges the risk and points to crisis or medical help, in vetted wording; a
safe, on-topic original is kept. A dropped original takes everything it carried with it (its steps, its
warmth, its handling of a risk the person raised), so a replacement always brings vetted next steps, a
validating sentence and, where the person's words carry a risk, that risk's vetted support, and the
non-critical gaps get their repair in every path: steps and an explanation (Guidance, Informativeness),
the feeling named as understandable (Empathy), a supportive close (Helpfulness). The Therapist then
writes the personal part (the reflection) within this plan.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sidecar.domain import Turn
from sidecar.rewrite.critic import Critique
from sidecar.rewrite.reflection import concern, last_user_text, reflectable

MAX_INSTRUCTIONS = 4
URGENT_RISKS = frozenset({"self_harm", "emergency"})
MIN_KEEP_WORDS = 8
# A revision's length cap in words (~1.2 judge tokens each): with the judge's 256-token window this leaves
# room for the person's last message, which the judge needs to score Relevance and Understanding.
MAX_REVISION_WORDS = 175
# The reflection's fixed words around the clause ("It sounds like ..., and you may be feeling x and y.").
REFLECTION_WORDS = 10
STEPS_HEADER = "A few things that might help:"
GENERIC_REFLECTION = "this has been weighing on you"  # what the reflection says when no clause is usable

# Feelings the reflection may name: the hard feelings people bring to a support chat.
FEELINGS: tuple[str, ...] = (
    "anxious", "worried", "scared", "frightened", "overwhelmed", "exhausted", "drained", "stressed",
    "lonely", "isolated", "hurt", "sad", "heartbroken", "hopeless", "guilty", "ashamed", "angry",
    "frustrated", "stuck", "lost", "confused", "unheard", "on edge", "low", "nervous", "uncertain",
)  # fmt: skip

# Risk in the conversation, most urgent first: (kind, pattern over the person's words).
_RISKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("emergency", re.compile(
        r"won'?t wake|not waking|unconscious|breathing (?:weird|funny|strange|slow)|can'?t breathe|"
        r"took (?:double|too much|too many|a load of|loads of)|overdos|insulin|chest pain|seizure", re.IGNORECASE)),
    ("self_harm", re.compile(
        r"suicid|kill(?:ing)? myself|end (?:it|my life)|want(?:ed)? to die|ways to die|not (?:to )?exist|"
        r"self[- ]?harm|cutting|cut myself|burn(?:ed|t)? myself|hurt(?:ing)? myself|jump(?:ing)? (?:off|in front)|"
        r"dangerous to take|a lot of at once|take them all|better off without me|gave (?:away )?(?:all )?my", re.IGNORECASE)),
    ("eating", re.compile(r"not eating|stop eating|won'?t eat|barely eat|lost \d+ ?kg|starv|purg|make myself sick", re.IGNORECASE)),
    ("medication", re.compile(
        r"\bmeds?\b|medication|antidepressant|tablet|pill|dose|quetiapine|sertraline|diazepam|prescri", re.IGNORECASE)),
    ("danger", re.compile(
        r"drive home|drunk|beers|not safe|hits? me|hurts? me|threaten|comments about my body|touch(?:es|ed) me", re.IGNORECASE)),
    ("boundary", re.compile(r"personal number|meet up|outside the app|talking to you instead|your number", re.IGNORECASE)),
    ("diagnosis", re.compile(r"do (?:you think )?i have\b|am i (?:autistic|bipolar|depressed|a narcissist)", re.IGNORECASE)),
)  # fmt: skip
# Harm that only the reply shows: it diagnoses, or poses as a clinician.
_REPLY_RISKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("diagnosis", re.compile(r"disorder|diagnos|as a doctor|classic (?:\w+ )?(?:signs|traits|symptoms)|you (?:have|definitely have) [A-Z]{3,}", re.IGNORECASE)),
)  # fmt: skip

# Vetted safety wording per risk kind (TheraGuard's own). Kept short: it is read by someone in distress.
SAFETY_SUPPORT: dict[str, str] = {
    "emergency": (
        "This could be a medical emergency, so please call your local emergency number now (999 in the UK, "
        "911 in the US) and follow their advice rather than waiting to see if it passes."
    ),
    "self_harm": (
        "I'm concerned for your safety. If you might act on these thoughts, please call your local emergency "
        "number or go to the nearest emergency department now. You can also talk to a crisis line at any hour: "
        "call or text 988 in the US, or call Samaritans on 116 123 in the UK and Ireland."
    ),
    "eating": (
        "Changes in eating like this can affect your health more than it seems, and you deserve support with "
        "it. A GP or an eating disorder helpline can talk it through with you in confidence."
    ),
    # True whether the person takes the medicine or the reply offered someone else's: it assumes neither.
    "medication": (
        "I can't advise on medication or doses. Taking medicine not prescribed for you, or changing a dose "
        "yourself, can be risky, so please ask a doctor or pharmacist first; they can go through the options "
        "with you."
    ),
    "danger": (
        "Your safety matters here. Please don't put yourself or anyone else at risk: if someone is in danger, "
        "call your local emergency number, and a trusted person or a professional can help you plan what to do."
    ),
    "boundary": (
        "I can't share personal contact details or meet outside this chat, and I can't replace the people who "
        "support you, but I'm glad to keep talking here."
    ),
    "diagnosis": (
        "I can't diagnose anyone, but a GP or a qualified mental health professional can assess this properly "
        "and talk through what might help."
    ),
    # Safety failed but nothing in the conversation names a risk: a light, non-alarming pointer.
    "general": (
        "If this ever feels like too much, a GP or counsellor can help, and if you are ever in danger, please "
        "contact your local emergency number."
    ),
}
# What helps to know, per risk kind: the substance of a Safety rewrite where the person's words carry the risk.
SAFETY_INFO: dict[str, str] = {
    "emergency": (
        "Overdoses and medicine mix-ups can get worse over the next few hours even when someone seems all "
        "right at first, so it is safest to get checked straight away."
    ),
    "self_harm": "Urges like these often come in waves and can ease with support.",
    "eating": (
        "Eating too little affects mood, sleep and concentration as well as your body, and early support makes "
        "a real difference."
    ),
    "medication": (
        "When a medicine stops working or causes problems, a doctor can often adjust the dose or switch to "
        "another option safely; it is a routine conversation for them."
    ),
    "danger": (
        "Planning ahead helps: agree on a safe option in advance, such as a taxi, a lift or a place to stay, "
        "so you are not deciding in the moment."
    ),
    "boundary": (
        "Support works best from a few places, people you know as well as a GP, a counsellor or a helpline, "
        "so help is there even when one of them isn't."
    ),
    "diagnosis": (
        "An assessment usually looks at your history and how things affect daily life, so noting down "
        "examples beforehand can help."
    ),
}
# Next steps per risk kind, for a Safety rewrite: the dropped original took its guidance with it (even
# harmful guidance scores as guidance), so the revision supplies safe, doable steps in its place.
RISK_STEPS: dict[str, tuple[str, str]] = {
    "emergency": (
        "Stay with them, or ask someone to stay with you, until help arrives.",
        "Keep any packets, or a note of what was taken and when, for the paramedics.",
    ),
    "self_harm": (
        "If you can, move anything you might use to hurt yourself out of reach.",
        "Stay near someone you trust, or message them to say how you are feeling tonight.",
    ),
    "eating": (
        "Try to have something small to eat and drink at regular times today, even if it feels hard.",
        "Tell one person you trust what has been happening, and book a GP appointment; they can come with you.",
    ),
    "medication": (
        "Write down the medicine, the dose and what has changed, so a doctor or pharmacist can advise quickly.",
        "A pharmacist can often advise the same day, without an appointment.",
    ),
    "danger": (
        "Tell someone you trust what is happening and agree how you can reach them quickly.",
        "Think of a safe place you could go, and keep your phone charged and with you.",
    ),
    "boundary": (
        "Think of one or two people you could message when you want to talk, and reach out to one this week.",
        "Save a helpline number in your phone, so there is someone to call outside this chat.",
    ),
    "diagnosis": (
        "Note down examples of what you've noticed, when it started and how it affects your day.",
        "Book a GP appointment and ask whether an assessment or a referral would help.",
    ),
}  # fmt: skip
# Where a safety question ends the reply (self-harm, emergency), a failing Helpfulness still needs a
# supportive line before it; elsewhere the warm closing does that job. Nothing here promises an outcome.
_QUESTION_SUPPORT: dict[str, str] = {
    "emergency": "You are doing the right thing by getting help, and you don't have to handle this alone.",
    "self_harm": "You don't have to face this on your own.",
}
# Empathy's top level names the feeling and treats it as understandable; the reflection names it, this
# sentence validates it without claiming anything about the person.
VALIDATION = "It makes sense that you feel this way."
_RISK_QUESTION: dict[str, str] = {
    "self_harm": "Are you safe right now, and is there someone you trust who could be with you?",
    "emergency": "Can you call for help now?",
}

# Concrete next steps by topic (TheraGuard's own wording); the first matching topic wins.
_TOPICS: tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...] = (
    ("sleep", re.compile(r"sleep|slept|insomnia|switch off at night|awake|tired", re.IGNORECASE), (
        "Try a short wind-down routine at the same time each night, with screens away for the last half hour.",
        "If worries keep you awake, jot them on paper before bed so your mind can set them down until morning.",
        "Poor sleep makes everything feel heavier, so a GP is worth talking to if it has gone on for weeks.",
    )),
    ("grief", re.compile(r"grief|griev|died|death|passed away|loss|lost my|miscarriage|funeral|without my", re.IGNORECASE), (
        "Give yourself permission to mark the day in your own way, for example by lighting a candle or sharing a memory.",
        "Let one or two people you trust know it is a hard time, so you don't have to carry it alone.",
        "Grief often comes in waves and has no fixed timetable; bereavement services can offer support when it is heavy.",
    )),
    ("anxiety", re.compile(r"anxi|panic|worr|nervous|overwhelm|intrusive|freak|dread|shak", re.IGNORECASE), (
        "When the feeling rises, try slow breathing: in for four counts, out for six, for a couple of minutes.",
        "Notice what sets it off and plan one small, manageable step for the next time you face it.",
        "Anxiety is very common and very treatable; talking therapies such as CBT help many people with it.",
    )),
    ("relationship", re.compile(r"partner|boyfriend|girlfriend|husband|wife|marriage|divorc|breakup|affair|relationship", re.IGNORECASE), (
        "Choose a calm moment to tell them how it affects you, using 'I feel' rather than 'you always'.",
        "Write down what you need from the relationship before you talk, so you can say it clearly.",
        "A counsellor, alone or as a couple, can help when conversations keep going round in circles.",
    )),
    ("family", re.compile(r"\bmum\b|\bmom\b|\bdad\b|mother|father|parents?\b|brother|sister|family|son\b|daughter", re.IGNORECASE), (
        "Pick a quiet moment to share how you feel with one family member you trust.",
        "Set one small boundary that protects your wellbeing, and keep it simple and kind.",
        "Family situations like this are hard for many people, and a counsellor can help you work through them.",
    )),
    ("work", re.compile(r"\bjob\b|work|boss|colleague|shift|redundan|career|hire|sick leave|signed off", re.IGNORECASE), (
        "Write down what you want to say beforehand, and keep it short and factual.",
        "Find out what support your workplace offers, such as HR, an employee assistance line or occupational health.",
        "Your GP can advise on time off and provide a fit note if your health needs it.",
    )),
    ("study", re.compile(r"school|exam|university|college|study|graduat|homework|teacher|bulli", re.IGNORECASE), (
        "Break the next task into small pieces and start with the easiest one.",
        "Talk to a tutor, teacher or student support service about how you are finding things.",
        "Many students feel this way, and student wellbeing services exist exactly for this.",
    )),
    ("lonely", re.compile(r"lonely|alone|friends?|burden|isolat", re.IGNORECASE), (
        "Reach out to one person this week with a short message, even just to say hello.",
        "Look for a small regular activity, such as a class or a volunteering slot, where you see the same faces.",
        "Feeling like a burden is common when we are low, and it is rarely how others see us.",
    )),
    ("mood", re.compile(r"low|depress|sad|crying|empty|numb|get out of bed|stuck", re.IGNORECASE), (
        "Plan one small, doable thing for each day, such as a short walk or a shower, and count it as a win.",
        "Tell someone you trust how low things have been, so you're not holding it alone.",
        "Low mood that lasts more than two weeks is worth raising with a GP; it is treatable.",
    )),
)  # fmt: skip
_GENERAL_STEPS: tuple[str, ...] = (
    "Try writing down what is weighing on you most, then pick one small step you could take this week.",
    "Talk it over with someone you trust, or with a GP or counsellor if it has been going on for a while.",
)

_OPENINGS: dict[str, str] = {
    "risk": "Thank you for telling me this; I'm really glad you did.",
    "warm": "I'm really sorry you're going through this.",
    "plain": "Thank you for sharing this with me.",
}
_CLOSINGS: dict[str, str] = {
    "support": "You don't have to work this out alone, and it's okay to take it one step at a time.",
    "question": "What feels hardest about it right now?",
}


@dataclass(frozen=True)
class RevisionPlan:
    """What the revision must do and the vetted structure it is built in."""

    instructions: tuple[str, ...]  # 2-4 concrete instructions, grounded in the critique and the conversation
    opening: str  # acknowledgement that opens the revision
    reflect_from: tuple[str, ...]  # the person's own clauses (second person) the reflection may use
    feelings: tuple[str, ...]  # feeling words the reflection may name
    keep: str  # the part of the original reply that is kept ("" when it is dropped)
    body: tuple[str, ...]  # vetted sentences after the reflection: safety support, next steps
    closing: str
    risk: str  # the risk kind found in the conversation ("" when none)
    drop_original: bool
    validation: str = ""  # a sentence that treats the named feeling as understandable ("" when not needed)


def risk_kind(context: Sequence[Turn], reply: str = "") -> str:
    """The most urgent risk kind in the person's words, else in the reply being revised, or ""."""
    said = " ".join(t.text for t in context if t.role.value == "user")
    for text, patterns in ((said, _RISKS), (reply, _RISKS + _REPLY_RISKS)):
        for kind, pattern in patterns:
            if text and pattern.search(text):
                return kind
    return ""


def topic_steps(context: Sequence[Turn]) -> tuple[str, tuple[str, ...]]:
    """(topic name, its next steps) for what the person wrote, else the general steps.

    All the person's turns count ("hard. my partner seems fine" after "since my miscarriage" is grief).
    """
    text = " ".join(t.text for t in context if t.role.value == "user") or last_user_text(context)
    for name, pattern, steps in _TOPICS:
        if pattern.search(text):
            return name, steps
    return "general", _GENERAL_STEPS


class Coach:
    """Plans one revision from a critique."""

    def plan(self, critique: Critique, context: Sequence[Turn], reply: str) -> RevisionPlan:
        """2-4 grounded instructions and the structure of the revision.

        Raises:
            ValueError: an empty critique (nothing fails, nothing to revise).
        """
        if not critique.items:
            raise ValueError("the critique lists no failing dimension: there is nothing to revise")
        failing = set(critique.dimensions)
        about = concern(context)
        quoted = f'"{about}"' if about else "what the person wrote"
        safety = "Safety" in failing
        # The harm can sit in the reply alone ("take your mum's diazepam"): let it name the support too.
        risk = risk_kind(context, reply if safety else "")
        # A reply that is unsafe, off-topic, dismissive or misreads the person cannot be patched: replace it.
        low = [c for c in critique.items if c.dimension in ("Empathy", "Understanding") and c.level <= 2]
        # A one-line original ("It's an attachment style.") adds nothing once the gaps are filled.
        thin = len(reply.split()) < MIN_KEEP_WORDS
        # Where the person speaks of self-harm or an emergency, no original is kept even if the judge passed
        # its Safety: a judge can miss harm there (one passed "tell me the names and strengths" to someone
        # asking about pills), and the vetted support loses nothing a good original had.
        urgent = risk_kind(context) in URGENT_RISKS
        drop = safety or "Relevance" in failing or bool(low) or thin or urgent
        # Risk-specific support, information and steps wherever the person's own words carry the risk and
        # the original goes, even if it passed Safety: it may have been what met the risk (a safety plan
        # dropped for missing the person's feelings). A risk only the reply brought in gets the vetted
        # support, and the steps follow the person's topic.
        own_risk = drop and bool(risk) and risk_kind(context) == risk
        instructions: list[str] = []
        body: list[str] = []

        if safety:
            s = critique["Safety"]
            instructions.append(
                f"Remove the original reply entirely: it {s.now} (Safety {s.score:.1f}, needs {s.threshold:g}); "
                "repeat none of it."
            )
        if safety or own_risk:
            kind = risk or "general"
            body.append(SAFETY_SUPPORT[kind])
            if own_risk:
                body.append(SAFETY_INFO[risk])  # the dropped original's substance, specific to the risk
            what = {
                "emergency": "urge them to call emergency services now",
                "self_harm": "say you are concerned for their safety and point to a crisis line and emergency help",
                "medication": "say not to change medication without their doctor or pharmacist",
            }.get(kind, "point to appropriate professional or crisis support")
            instructions.append(f"Acknowledge the risk in {quoted} and {what}.")
        if "Relevance" in failing and not safety:
            instructions.append(f"Speak to the person's own concern, {quoted}, and drop anything off-topic.")
        if failing & {"Understanding", "Empathy"}:
            named = " and ".join(d for d in ("Understanding", "Empathy") if d in failing)
            instructions.append(
                f"Reflect back what they said in their own words ({quoted}) and name how they may feel, "
                f"as understandable ({named})."
            )
        tone = "warm" if failing & {"Empathy", "Helpfulness"} else "plain"
        opening = _OPENINGS["risk" if (safety and risk) or own_risk else tone]
        # A dropped original takes its warmth with it too, so a replacement always validates.
        validation = VALIDATION if "Empathy" in failing or drop else ""
        question = _RISK_QUESTION.get(risk, "") if safety or own_risk else ""
        if question:
            support = _QUESTION_SUPPORT[risk] if "Helpfulness" in failing else ""
            closing = f"{support} {question}".strip()
        else:
            closing = _CLOSINGS["support"] if "Helpfulness" in failing or drop else _CLOSINGS["question"]
        keep = "" if drop else reply.strip()
        reflect_from = reflectable(context)

        # A dropped original takes whatever guidance it had with it, so a dropped one always gets steps.
        wants_steps = bool(failing & {"Guidance", "Informativeness", "Helpfulness"}) or drop
        if wants_steps:
            if own_risk:
                # The risk's own steps: where the person's words carry a risk, that comes before their topic.
                topic, chosen = risk.replace("_", "-"), list(RISK_STEPS[risk])
            else:
                topic, steps = topic_steps(context)
                chosen = list(steps[:2] if "Informativeness" not in failing else steps[:3])
            # The judge reads the reply whole and the conversation only in what is left of its window: a
            # long kept original plus steps would crowd out the person's words, so steps give way first.
            longest = max((len(c.split()) for c in reflect_from), default=len(GENERIC_REFLECTION.split()))
            fixed = (
                _words(opening, validation, keep, closing, *body)
                + REFLECTION_WORDS
                + longest
                + _words(STEPS_HEADER)
            )
            while len(chosen) > 1 and fixed + _words(*chosen) > MAX_REVISION_WORDS:
                chosen.pop()
            body.extend(chosen)
            need = " and ".join(d for d in ("Guidance", "Informativeness") if d in failing) or "Helpfulness"
            instructions.append(f"Give {len(chosen)} concrete next steps about {topic} ({need}).")
        if not drop:
            instructions.append("Keep the original reply's content: it is safe and on topic.")
        if len(instructions) < 2:
            instructions.append("End with warm, realistic reassurance that support is available.")

        return RevisionPlan(
            instructions=tuple(instructions[:MAX_INSTRUCTIONS]),
            opening=opening,
            validation=validation,
            reflect_from=reflect_from,
            feelings=FEELINGS,
            keep=keep,
            body=tuple(body),
            closing=closing,
            risk=risk,
            drop_original=drop,
        )


def _words(*parts: str) -> int:
    return sum(len(part.split()) for part in parts)
