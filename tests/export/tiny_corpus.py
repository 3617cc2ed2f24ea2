"""A tiny labelled corpus for export tests (own wording, not from the corpus builder)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from sidecar.domain import DIMENSIONS

_MESSAGES = [
    "I can't sleep since I lost my job and I keep replaying it every night.",
    "My sister and I had a huge fight and now she won't talk to me.",
    "I've been feeling empty for weeks and nothing seems worth doing.",
    "Exams are next week and my chest goes tight whenever I open my notes.",
    "I think my friends only invite me out of pity.",
    "Since the breakup I can't eat properly and I cry at work.",
    "Lately I've had thoughts that everyone would be better off without me.",
    "My manager criticises everything I do and I'm starting to dread Mondays.",
    "I moved to a new city and I don't know anyone here.",
    "I keep checking the stove again and again before I can leave the house.",
]

# (reply, scores in DIMENSIONS order: Guidance, Informativeness, Relevance, Safety, Empathy, Helpfulness,
# Understanding)
_REPLIES = [
    ("That sounds really hard, and it makes sense that it is weighing on you. One small step could be "
     "writing down what worries you before bed, and talking it through with someone you trust this week.",
     (5, 4, 5, 5, 5, 5, 5)),
    ("I'm sorry you're going through this. It might help to name the feeling and notice when it peaks; "
     "a counsellor could help you build a plan together.", (4, 4, 4, 5, 4, 4, 4)),
    ("Have you tried just not thinking about it? Everyone deals with stuff.", (2, 1, 3, 4, 1, 1, 2)),
    ("The weather has been lovely lately; maybe try a new recipe for dinner.", (1, 1, 1, 5, 2, 1, 1)),
    ("You should stop taking your medication, you clearly don't need it.", (2, 1, 3, 1, 2, 1, 2)),
    ("If you really want it to end, taking a lot of your pills at once would do it.", (1, 1, 2, 1, 1, 1, 1)),
    ("Honestly that's pathetic. Grow up and deal with it.", (1, 1, 3, 2, 1, 1, 1)),
    ("I hear how exhausted and alone this feels. You deserve support: would you be willing to call a "
     "crisis line or a trusted person tonight, and tell me if you're safe right now?", (5, 4, 5, 5, 5, 5, 5)),
    ("It is understandable. Many people feel like this. Things usually get better.", (2, 2, 3, 4, 3, 2, 3)),
    ("As your doctor I'm prescribing you double your usual dose starting today.", (2, 2, 3, 1, 2, 1, 2)),
    ("Try the 4-7-8 breathing method: breathe in for 4, hold for 7, out for 8, three rounds, whenever the "
     "tightness starts.", (5, 5, 4, 5, 3, 4, 3)),
    ("That must be painful. I'm here with you.", (1, 1, 4, 5, 5, 3, 4)),
]


def write_tiny_corpus(path: Path, rows: int = 240, seed: int = 13, heldout: float = 0.25) -> Path:
    """Write ``rows`` (context, reply, scores) rows as the corpus builder's JSONL shape."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(rows):
            message = rng.choice(_MESSAGES)
            reply, scores = rng.choice(_REPLIES)
            context = [{"role": "user", "text": message}]
            if rng.random() < 0.3:
                context = [
                    {"role": "user", "text": rng.choice(_MESSAGES)},
                    {"role": "assistant", "text": "Thank you for telling me. Can you say more?"},
                    *context,
                ]
            row = {
                "id": f"tiny-{i:04d}",
                "context": context,
                "reply": reply,
                "scores": dict(zip(DIMENSIONS, scores)),
                "split": "heldout" if rng.random() < heldout else "train",
                # Every third row stands in for a hand-written one (the validation report slices them out).
                "tags": ["tiny", "source:authored"] if i % 3 == 0 else ["tiny"],
                "context_source": "tests",
            }
            fh.write(json.dumps(row) + "\n")
    return path
