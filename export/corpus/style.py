"""Surface variation that carries no label: register (casual, neutral, formal) and the odd typo."""

from __future__ import annotations

import random
import re

_EXPAND = {
    "you're": "you are", "it's": "it is", "don't": "do not", "can't": "cannot", "won't": "will not",
    "I'm": "I am", "that's": "that is", "isn't": "is not", "doesn't": "does not", "you've": "you have",
    "I'd": "I would", "you'll": "you will", "there's": "there is", "what's": "what is", "wouldn't": "would not",
    "you'd": "you would", "let's": "let us", "I've": "I have", "shouldn't": "should not", "aren't": "are not",
}
_CASUAL = {
    "going to": "gonna", "you are": "you're", "probably": "prob", "really": "really", "because": "cause",
    "though": "tho", "okay": "ok", "Okay": "Ok",
}
_CASUAL_OPENERS = ("hey, ", "oh no, ", "ugh, ", "honestly, ", "ok so ", "hmm, ")


def _formal(text: str) -> str:
    for short, full in _EXPAND.items():
        # "it's been" and "there's been" are "has", not "is": leave those contracted.
        text = re.sub(rf"\b{re.escape(short)}\b(?! been)", full, text)
        text = re.sub(rf"\b{re.escape(short.capitalize())}\b(?! been)", full.capitalize(), text)
    return text


def _casual(rng: random.Random, text: str) -> str:
    for a, b in _CASUAL.items():
        if rng.random() < 0.5:
            text = re.sub(rf"\b{re.escape(a)}\b", b, text)
    if rng.random() < 0.5:  # lower-case sentence starts, the way people type on phones
        text = re.sub(r"(^|[.!?]\s+)([A-Z])(?=[a-z])", lambda m: m.group(1) + m.group(2).lower(), text)
    if rng.random() < 0.3:
        text = rng.choice(_CASUAL_OPENERS) + text[:1].lower() + text[1:]
    if rng.random() < 0.4:
        text = text.replace("\u2019", "'").replace("'", "") if rng.random() < 0.3 else text
        text = text.rstrip(".")
    return text


def _typos(rng: random.Random, text: str, n: int) -> str:
    words = text.split(" ")
    for _ in range(n):
        k = rng.randrange(len(words))
        w = words[k]
        if len(w) > 4 and w.isalpha():
            j = rng.randrange(1, len(w) - 2)
            words[k] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


def restyle(rng: random.Random, text: str) -> tuple[str, tuple[str, ...]]:
    """Apply a register and, rarely, typos; return the text and tags naming what was applied."""
    register = rng.choices(("neutral", "casual", "formal"), weights=(55, 25, 20))[0]
    if register == "formal":
        text = _formal(text)
    elif register == "casual":
        text = _casual(rng, text)
    tags = [f"register:{register}"]
    if rng.random() < 0.08:
        text = _typos(rng, text, rng.choice((1, 2)))
        tags.append("typos")
    return text, tuple(tags)
