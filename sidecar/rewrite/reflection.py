"""Grounded material for a reflection: the person's own clauses, turned to the second person.

A reflection may only say what the person said. These functions cut the person's last message into
clauses ("my dog is sick", "I can't sleep"), swap the pronouns ("your dog is sick", "you can't
sleep") and drop what cannot be reflected cleanly (questions to the assistant, fragments). The
Therapist lets the model choose among them; it never writes facts of its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sidecar.domain import Role, Turn

# First person -> second person. Keys are lower-case words as tokenised below.
_SWAP: dict[str, str] = {
    "i": "you", "i'm": "you're", "im": "you're", "i've": "you've", "i'd": "you'd", "i'll": "you'll",
    "me": "you", "my": "your", "mine": "yours", "myself": "yourself",
    "we": "you", "we're": "you're", "we've": "you've", "our": "your", "ours": "yours", "us": "you",
    "ourselves": "yourselves",
}  # fmt: skip
# Words that open a clause we can reflect; the clause starts at the word after these.
# "and"/"but" split only where a new subject follows: "stop eating and drinking" stays whole.
_SUBJECT = (
    r"(?:i|i'm|i've|i'd|my|he|she|he's|she's|they|they're|it|it's|we|the|now|then|everyone|nobody|no one)\b"
)
_SPLIT = re.compile(
    rf"(?:[.!?;:\n]+|\s[-\u2013\u2014]\s|,\s*(?:and|but|so)\s|\s(?:and|but|so)\s(?={_SUBJECT})|\s(?:because|since|although|though)\s)",
    re.IGNORECASE,
)
# Leading fillers dropped from a clause ("anyway that's..." -> "that's...").
_FILLER = re.compile(
    r"^(?:anyway|ok(?:ay)?|so|well|like|hi|hey|tbh|honestly|just|also|and|but|um+|yeah|no|not really|hard)\b[,\s]*",
    re.IGNORECASE,
)
# Questions are reflected as their topic: "what should I do when X" -> "X".
_QUESTION_LEAD = re.compile(
    r"^(?:(?:what|how|why|should|can|could|would|do|does|is|are|where|when|which|who)\b.*?\b(?:when|if|that|about|because)\s+)",
    re.IGNORECASE,
)
# Trailing fillers dropped from a clause ("you barely eat tbh" -> "you barely eat").
_TRAILING = re.compile(r"[,\s]+(?:tbh|lol|honestly|though|anyway|really|idk|haha)$", re.IGNORECASE)
# Words that make a clause worth reflecting: feelings, strain, loss, risk.
_SALIENT = re.compile(
    r"feel|felt|scared|afraid|terrified|anxious|worr|lonely|alone|sad|low|angry|guilt|fault|ashamed|hate|"
    r"can't|cannot|couldn't|won't|never|no one|nobody|lost|died|sick|hurt|cry|crying|stuck|burden|"
    r"dread|panic|stress|tired|sleep|kill|die|harm|cut|pills|diagnos|divorc|breakup|affair|bull|redundan",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z0-9'\u2019&]+(?:-[A-Za-z0-9'\u2019&]+)*|[^\sA-Za-z0-9'\"]")
# "I was" -> "you were", "I am" -> "you are": the verb changes only after "I".
_VERB_AFTER_I = {"was": "were", "am": "are"}
# A question with no clause of its own is reflected by its topic: "... ways to cope with X" -> X.
_QUESTION_TOPIC = re.compile(r"\b(?:about|with|between|for)\s+(?P<topic>[^?]+?)\s*\??$", re.IGNORECASE)
_QUESTION_START = re.compile(
    r"^(?:what|how|why|should|can|could|would|do|does|is|are|where|which|who)\b", re.IGNORECASE
)
# A clause that starts with a verb lost its subject to the person's shorthand ("called in sick again",
# "feels good to clear it out"): give it back, so the reflection reads as a sentence.
_SUBJECTS = frozenset(
    [
        "you",
        "you're",
        "you've",
        "you'd",
        "you'll",
        "your",
        "it",
        "it's",
        "its",
        "the",
        "he",
        "he's",
        "his",
        "she",
        "she's",
        "her",
        "they",
        "they're",
        "their",
        "there",
        "there's",
        "this",
        "that",
        "that's",
        "these",
        "those",
        "everyone",
        "everything",
        "nobody",
        "nothing",
        "someone",
        "no",
        "one",
        "a",
        "an",
        "since",
        "now",
        "then",
    ]
)
_PAST = re.compile(
    r"^(?:\w+ed|gave|took|went|got|made|had|lost|found|told|felt|left|saw|said|came|ran|"
    r"thought|bought|sent|spent|broke|fell|forgot|kept|slept|woke|quit|did|began|became)$",
    re.IGNORECASE,
)
_THIRD = re.compile(
    r"^(?:feels|seems|makes|keeps|looks|sounds|gets|hurts|happens|means|helps)$", re.IGNORECASE
)
MIN_WORDS = 3
MAX_WORDS = 16


def swap_person(text: str) -> str:
    """Turn first-person words into second-person ones ("I can't sleep" -> "you can't sleep")."""
    out: list[str] = []
    previous = ""
    for token in _WORD.findall(text.replace("\u2019", "'")):
        low = token.lower()
        if previous == "i" and low in _VERB_AFTER_I:
            out.append(_VERB_AFTER_I[low])
        else:
            out.append(_SWAP.get(low, token))
        previous = low
    return _join([t.lstrip("'") or t for t in out])


def _join(tokens: Sequence[str]) -> str:
    text = ""
    for token in tokens:
        if text and (token[0].isalnum() or token[0] in "'&("):
            text += " "
        text += token
    return text.replace("( ", "(").strip()


def _addresses_assistant(clause: str) -> bool:
    # "you"/"your" in the person's own words means the assistant: such a clause cannot be mirrored.
    return re.search(r"\b(?:you|your|yours|you're|you've|u)\b", clause, re.IGNORECASE) is not None


def clauses(text: str) -> tuple[str, ...]:
    """Reflectable clauses of one message, second person, in order, without duplicates."""
    found: list[str] = []
    for raw in _SPLIT.split(text):
        clause = raw.strip(" ,'\"()")
        while True:
            stripped = _FILLER.sub("", clause).strip(" ,")
            if stripped == clause:
                break
            clause = stripped
        if _addresses_assistant(clause):
            continue
        if _QUESTION_START.match(clause):
            topic = _QUESTION_LEAD.sub("", clause)
            if topic == clause:
                match = _QUESTION_TOPIC.search(clause)
                if not match or len(match["topic"].split()) < 2:
                    continue  # a bare question ("what does that mean") has no situation to reflect
                topic = "you have a question about " + match["topic"]
            clause = topic
        words = clause.split()
        if not MIN_WORDS <= len(words) <= MAX_WORDS:
            continue
        swapped = _with_subject(_TRAILING.sub("", swap_person(clause).rstrip(" ,.")))
        if swapped and swapped not in found:
            found.append(swapped)
    return tuple(found)


def _with_subject(clause: str) -> str:
    first = clause.split(" ", 1)[0]
    if not first or first.lower() in _SUBJECTS or first[:1].isupper() or first[:1].isdigit():
        return clause
    if _PAST.match(first):
        return f"you {clause}"
    if _THIRD.match(first):
        return f"it {clause}"
    return clause


def last_user_text(context: Sequence[Turn]) -> str:
    """The person's most recent message ("" when the context has none)."""
    for turn in reversed(context):
        if turn.role is Role.USER:
            return turn.text
    return ""


def salience(clause: str) -> int:
    """How much a clause says about the person's situation: feeling/strain words, then length."""
    return 3 * len(_SALIENT.findall(clause)) + min(len(clause.split()), 12) // 3


def reflectable(context: Sequence[Turn], limit: int = 3) -> tuple[str, ...]:
    """Clauses to reflect, most salient first: the last user message, then earlier user turns."""
    found: list[str] = []
    users = [t.text for t in context if t.role is Role.USER]
    for age, text in enumerate(reversed(users)):
        for clause in clauses(text):
            if clause not in found:
                found.append(clause)
        if age == 0 and found:
            break  # the last message has something to reflect: stay with it
    ranked = sorted(found, key=salience, reverse=True)
    return tuple(ranked[:limit])


def concern(context: Sequence[Turn]) -> str:
    """A short phrase naming the person's concern: their last message's most specific clause."""
    found = clauses(last_user_text(context)) or reflectable(context)
    if not found:
        text = last_user_text(context).strip()
        return swap_person(" ".join(text.split()[:MAX_WORDS])).rstrip(" ,.?!") if text else ""
    return max(found, key=lambda c: len(c.split()))
