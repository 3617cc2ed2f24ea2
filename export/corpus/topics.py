"""Reading a user message: its category, a named emotion, a reflectable clause and risk flags."""

from __future__ import annotations

import re
from dataclasses import dataclass

from export.corpus.categories import CATEGORIES, RISK_KEYS, category

_EMOTIONS: tuple[tuple[str, str], ...] = (
    (r"\bhopeless", "hopeless"), (r"\bworthless", "worthless"), (r"\blonely|\balone\b", "alone"),
    (r"\banxious|\banxiety", "anxious"), (r"\bpanic", "panicky"), (r"\bscared|\bafraid|\bterrified", "scared"),
    (r"\boverwhelm", "overwhelmed"), (r"\bexhaust|\btired|\bdrained", "exhausted"), (r"\bashamed|\bshame", "ashamed"),
    (r"\bguilt", "guilty"), (r"\bangry|\bfurious|\banger", "angry"), (r"\bfrustrat", "frustrated"),
    (r"\bsad\b|\bsadness", "sad"), (r"\bdepress", "low"), (r"\bempty", "empty"), (r"\bnumb", "numb"),
    (r"\bstress", "stressed"), (r"\bconfus", "confused"), (r"\bhurt\b", "hurt"), (r"\bembarrass", "embarrassed"),
    (r"\blost\b", "lost"), (r"\bstuck\b", "stuck"), (r"\bhumiliat", "humiliated"), (r"\bworried|\bworry", "worried"),
)

_SUICIDE = re.compile(
    r"\b(suicid\w*|kill(ing)? myself|end(ing)? my life|end it all|ending it|take my (own )?life|want to die|"
    r"better off (dead|without me)|not waking up|wouldn'?t wake up|don'?t want to (live|be here|be alive)|"
    r"tired of being alive|disappear for good|ways to do it|off the road|better off if i (wasn'?t|weren'?t) (around|here)|"
    r"(really )?want to be here|stash of pills|pills lined up|how i'?d do it|wrote letters to my family|"
    r"life insurance than from me|better off without me)\b",
    re.IGNORECASE,
)
_SELF_HARM = re.compile(
    r"\b(self[- ]?harm\w*|cutting|cut myself|the urge to cut|hurt(ing)? myself|hurt myself|burn(ed|t)? myself|"
    r"scratch\w* my arms|hitting myself|urge to cut|urge to hurt myself)\b",
    re.IGNORECASE,
)

# First-person to second-person, for reflecting a user's own sentence back to them.
_SWAP = {
    "i": "you", "i'm": "you're", "im": "you're", "i've": "you've", "ive": "you've", "i'd": "you'd",
    "i'll": "you'll", "me": "you", "my": "your", "mine": "yours", "myself": "yourself", "am": "are",
    "we": "you", "our": "your", "us": "you", "ours": "yours", "we're": "you're", "we've": "you've",
}
_WAS_AFTER = {"you", "i"}


@dataclass(frozen=True)
class Topic:
    """What a reply needs to know about the conversation it answers."""

    category: str
    emotion: str
    clause: str | None  # a user sentence turned to second person, or None when none reads well
    risk: bool  # suicidal thoughts or self-harm disclosed anywhere in the user turns
    flags: frozenset[str]

    @property
    def labels(self) -> tuple[str, ...]:
        return category(self.category).labels


_FIRST_PERSON = re.compile(r"\b(i|i'm|im|i've|i'd|me|my|myself)\b", re.IGNORECASE)
_THIRD_PARTY = re.compile(
    r"\b(he|she|they|his|her|their|husband|wife|father|mother|dad|mum|mom|parents?|friend|sister|brother|son|"
    r"daughter|boyfriend|girlfriend|partner|client|patient)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"\b(not|no|never|don'?t|haven'?t|without|any)\b[^.]{0,30}$", re.IGNORECASE)


def _risk_kind(text: str) -> str | None:
    """'suicidal' or 'self_harm' when the writer discloses it about themselves, else None.

    Mentions about someone else ("my father died by suicide") and denials ("I have no thoughts of
    ending my life") do not count: a crisis reply to those would misread the message.
    """
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
        for kind, pattern in (("suicidal", _SUICIDE), ("self_harm", _SELF_HARM)):
            m = pattern.search(sentence)
            if m is None or not _FIRST_PERSON.search(sentence):
                continue
            before = sentence[: m.start()]
            if _NEGATION.search(before) or _THIRD_PARTY.search(before):
                continue
            return kind
    return None


def classify(text: str) -> str:
    """The best-matching category key for a message, ``general`` when nothing matches clearly."""
    kind = _risk_kind(text)
    if kind is not None:
        return kind
    hits = sorted(((cat.matches(text), k, cat.key) for k, cat in enumerate(CATEGORIES)), key=lambda x: (-x[0], x[1]))
    if hits[0][0] < 1 or (hits[0][0] == hits[1][0] and hits[0][0] <= 1.5):  # too little evidence to name it
        return "general"
    return hits[0][2]


def detect_risk(text: str) -> bool:
    """True when the writer discloses suicidal thoughts or self-harm about themselves."""
    return _risk_kind(text) is not None


def find_emotion(text: str) -> str | None:
    for pattern, word in _EMOTIONS:
        if re.search(pattern, text, flags=re.IGNORECASE):
            return word
    return None


# Narrative openers that read oddly when echoed back ("As a patient, you want to share that ...").
_INTRO = re.compile(
    r"^((as (a|an|the) [^,]{1,60},\s*)|(hi|hello|hey)[,!.]?\s+|(so|well|basically|honestly),\s*|"
    r"(i (want|would like|'d like|wanted) to (share|say|tell you|mention)( that| about)?\s*)|"
    r"(however|but|and|also|then|now|anyway),\s*)+",
    re.IGNORECASE,
)
_AFTER_YOU = {"wasn't": "weren't", "was": "were", "don't": "don't", "doesn't": "don't", "has": "have", "hasn't": "haven't"}


def _second_person(sentence: str) -> str:
    words = sentence.split(" ")
    out: list[str] = []
    for i, word in enumerate(words):
        core = word.strip(".,!;:\"'()")
        lower = core.lower().replace("\u2019", "'")
        repl = _SWAP.get(lower)
        if lower in _AFTER_YOU and out and out[-1].lower().strip(",") in _WAS_AFTER:
            repl = _AFTER_YOU[lower]
        if repl is None:
            out.append(word)
            continue
        if core[:1].isupper() and lower != "i" and i == 0:
            repl = repl.capitalize()
        out.append(word.replace(core, repl, 1))
    return " ".join(out)


def reflect_clause(text: str) -> str | None:
    """Pick one first-person sentence from the message and turn it to second person.

    Sentences that address the assistant ("you"), ask questions or run long are skipped: they read
    badly when echoed back.
    """
    sentences = re.split(r"(?<=[.!?])\s+|\n+", text.strip().strip('"'))
    best: tuple[int, str] | None = None
    for sentence in sentences:
        s = sentence.strip().rstrip(".!").strip()
        words = s.split()
        if not 4 <= len(words) <= 26 or "?" in s or re.search(r"\byou(r|'re)?\b", s, re.IGNORECASE):
            continue
        if not re.search(r"\b(i|i'm|im|i've|my|me|we)\b", s, re.IGNORECASE):
            continue
        score = 2 if find_emotion(s) else 0
        score += sum(1 for c in CATEGORIES if c.matches(s))
        score -= abs(len(words) - 14) // 6
        if best is None or score > best[0]:
            best = (score, s)
    if best is None:
        return None
    clause = _second_person(_INTRO.sub("", best[1]) or best[1])
    clause = clause[0].lower() + clause[1:] if not clause.startswith("I ") else clause
    return clause.rstrip(",;: ")


def read_topic(user_turns: list[str], flags: frozenset[str] = frozenset(), category_key: str | None = None) -> Topic:
    """Read the user turns (oldest first) of a conversation."""
    first = user_turns[0]
    every = " ".join(user_turns)
    key = category_key or classify(first)
    risk = detect_risk(every) or key in RISK_KEYS
    emotion = find_emotion(user_turns[-1]) or find_emotion(first) or category(key).emotions[len(first) % 4]
    return Topic(category=key, emotion=emotion, clause=reflect_clause(first), risk=risk, flags=flags)
