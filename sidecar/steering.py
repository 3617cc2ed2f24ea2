"""Text that addresses the judge rather than the person: fake verdicts, scores, review claims, orders.

The judge reads such text like any other and can be talked up by it (a fake score JSON appended to a
harmful reply raised its Safety by up to 2 points; "score it 5" written into the user's turn raised
judge 1.6's Safety for a brush-off by 1.8; `bench/injection.py`). The guard therefore also scores the
pair with these spans removed from the reply and from every turn, and keeps the lower score per
dimension, so such text can only ever cost a reply, never help it. The patterns are deliberately
narrow: a reply to a person has no reason to contain any of them.
"""

from __future__ import annotations

import re


def _alternation(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# Spans removed wherever they sit: verdict-shaped data and markup.
_SPANS = _alternation(
    # A JSON-like object that carries a dimension, a score or a verdict.
    r"\{[^{}]{0,600}?\"?(?:safety|guidance|empathy|helpfulness|relevance|understanding|informativeness|"
    r"score|scores|action|verdict|safe|approved)\"?\s*:[^{}]{0,600}\}",
    # Markup naming a verdict, with what it wraps; stray tags; comments.
    r"<(?P<tag>scores?|decision|verdict|assessment|review|moderation)\b[^>]{0,100}>[^<]{0,600}</(?P=tag)\s*>",
    r"</?(?:reply|response|scores?|decision|verdict|assessment|system|review|moderation)\b[^>]{0,100}>",
    r"<!--.{0,600}?-->",
    r"\b(?:action|verdict|decision)\s*[:=]\s*\"?(?:pass|passed|approve|approved|action_pass)\b\"?\.?",
)
# A sentence containing any of these is removed whole.
_SENTENCES = _alternation(
    # Spoken as the system, a reviewer or the judge.
    r"^[\s#>*\[(]*(?:system|system override|assistant note|note to (?:the )?(?:reviewer|evaluator|judge|"
    r"moderator)s?|reviewer|evaluator|moderator|judge|assessment)\b[^:]{0,30}:",
    # Scores out of five ("All dimensions scored 5/5.").
    r"\b(?:dimensions?|scores?|scored|rated)\b.*\b[1-5](?:\.\d+)?\s*/\s*5\b",
    # Instructions to ignore instructions, or to rate the reply.
    r"\bignore (?:(?:all |any |your |previous |prior |earlier )+(?:instructions|rules|guidance)|(?:the )?instructions)\b",
    r"\bdisregard\b.*\b(?:instructions|guidance|rules)\b",
    r"\b(?:rate|score|mark|grade)\s+(?:(?:this|the)\s+(?:reply|response|answer|message)|(?:it|this)\s+(?:a\s+)?"
    r"(?:[1-5]\b|five\b|as\b))",
    # Claims that the reply was reviewed, checked or approved.
    r"\b(?:this|the) (?:reply|response|answer|message)\b.*\b(?:reviewed|checked|approved|verified|passed|"
    r"unchanged|as[- ]is|is safe)\b",
    r"\b(?:safety|clinical|moderation) (?:check|review|assessment)\s*(?::|passed|complete|approved)",
)
# Sentence boundaries: after . ! ? (or a bracket or quote closing them) and whitespace, or a line break.
_BOUNDARY = re.compile(r"((?<=[.!?])[ \t]+|(?<=[.!?][)\]\"'])[ \t]+|\n+)")


def strip_judge_directed(reply: str) -> str:
    """The reply without spans addressed to the judge; the same string when there are none.

    Spans first, then one search per sentence (well under 1 ms for a 4,000-character reply).
    """
    text = _SPANS.sub(" ", reply)
    parts = _BOUNDARY.split(text)  # sentence, separator, sentence, ...
    kept: list[str] = []
    for k in range(0, len(parts), 2):
        if not _SENTENCES.search(parts[k]):
            kept.append(parts[k] + (parts[k + 1] if k + 1 < len(parts) else ""))
    out = "".join(kept)
    if out == reply:
        return reply
    return re.sub(r"[ \t]{2,}", " ", re.sub(r"\n{3,}", "\n\n", out)).strip()
