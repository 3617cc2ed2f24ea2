"""The Therapist: writes the revised reply with the model, within the Coach's plan.

Two ways of writing, chosen by what the backend can do:

- **scaffold** (constrained backends, e.g. the local 135M model): the model writes the personal part,
  a reflection "It sounds like <what you said>, and you may be feeling <feelings>." Constrained
  decoding lets it choose only among the person's own clauses (second person) and a list of feeling
  words, so it cannot invent facts about the person or drift off-task; the Coach's vetted structure
  (acknowledgement, safety support, next steps, kept original, closing) goes around it. In free
  form, the 135M model's rewrites were off-topic and sometimes unsafe, which is why it gets this job.
- **free** (unconstrained backends, e.g. a larger remote model): the model writes the whole reply from
  the instructions; it is cleaned (role prefixes, unfinished sentence), degenerate output is rejected,
  and for a Safety failure the vetted safety support is added when the model left it out.

Either way the result is re-scored by the runner; nothing here decides what ships.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sidecar.domain import Role, Turn
from sidecar.rewrite.backend import GenerationBackend, Message
from sidecar.rewrite.coach import GENERIC_REFLECTION, SAFETY_INFO, SAFETY_SUPPORT, STEPS_HEADER, RevisionPlan

REFLECTION_PREFIX = "It sounds like"
GENERIC_CLAUSE = GENERIC_REFLECTION
FEELING_JOIN = ", and you may be feeling "
# Token room for one reflection: the longest clause plus two feelings, in SmolLM2 tokens, with slack.
SCAFFOLD_TOKENS = 48
_SYSTEM = (
    "You are a warm, careful counsellor revising a reply to someone who is struggling. "
    "Follow these instructions:\n{instructions}\n"
    "Only say what the person actually said; never add facts about them. Never give medical doses or "
    "encourage harm."
)
_FREE_RULES = "Write only the revised reply, in at most {words} words, with no preamble."
_ROLE_PREFIX = re.compile(
    r"^\s*(?:assistant|therapist|counsel+or|revised reply|reply|response)\s*:\s*", re.IGNORECASE
)
_SPECIAL = re.compile(r"<\|[^|>]*\|>")
_CRISIS = re.compile(r"988|116 123|emergency|crisis line|samaritans", re.IGNORECASE)
_REGEX_META = set("\\.+*?()|[]{}^$#&-~")


@dataclass(frozen=True)
class Revision:
    """What the Therapist produced."""

    text: str | None  # the revised reply; None when the model's output could not be used
    reason: str  # "rewritten" | "budget_exhausted" | "rewrite_timeout" | "rewrite_rejected"
    tokens: int  # tokens the model generated
    model_text: str  # what the model itself wrote (the reflection in scaffold mode)
    mode: str  # "scaffold" | "free"
    generation_ms: float = 0.0


def regex_literal(text: str) -> str:
    """Escape ``text`` for the constrained-decoding regex (spaces and letters stay as they are)."""
    return "".join("\\" + c if c in _REGEX_META else c for c in text)


def reflection_pattern(clauses: Sequence[str], feelings: Sequence[str]) -> str:
    """The regex a reflection must match after the prefix: one clause, then one or two feelings."""
    options = "|".join(regex_literal(c) for c in (clauses or (GENERIC_CLAUSE,)))
    feel = "|".join(regex_literal(f) for f in feelings)
    return f" ({options}){regex_literal(FEELING_JOIN)}({feel})( and ({feel}))?\\."


def clean_generation(text: str) -> str:
    """Strip special tokens, role prefixes and quotes; cut an unfinished last sentence."""
    text = _SPECIAL.sub("", text).strip()
    text = _ROLE_PREFIX.sub("", text).strip().strip('"').strip()
    ends = [m.end() for m in re.finditer(r"[.!?](?:\s|$)", text)]
    if ends and ends[-1] < len(text.rstrip()):
        text = text[: ends[-1]]
    return text.strip()


def is_degenerate(text: str) -> bool:
    """Empty, too short, mostly non-letters, or looping on the same words."""
    words = re.findall(r"[A-Za-z']+", text)
    if len(words) < 4:
        return True
    letters = sum(c.isalpha() for c in text)
    if letters < 0.6 * len(text.replace(" ", "")):
        return True
    trigrams = [tuple(w.lower() for w in words[i : i + 3]) for i in range(len(words) - 2)]
    return bool(trigrams) and len(set(trigrams)) < 0.6 * len(trigrams)


def _prompt_context(context: Sequence[Turn], limit: int = 3) -> str:
    lines = [f"{'Person' if t.role is Role.USER else 'Counsellor'}: {t.text}" for t in context[-limit:]]
    return "\n".join(lines) if lines else "(no earlier messages)"


def _reason_for(finish: str) -> str:
    return {"length": "budget_exhausted", "deadline": "rewrite_timeout"}.get(finish, "rewrite_rejected")


class Therapist:
    """Writes revisions with a generation backend."""

    def __init__(self, backend: GenerationBackend, mode: str | None = None) -> None:
        chosen = mode or ("scaffold" if backend.constrained else "free")
        if chosen not in ("scaffold", "free"):
            raise ValueError(f"Therapist mode must be scaffold or free (got: {chosen!r})")
        if chosen == "scaffold" and not backend.constrained:
            raise ValueError(
                f"scaffold mode needs a backend with constrained decoding; {backend.name} has none: use free"
            )
        self.backend = backend
        self.mode = chosen

    @property
    def name(self) -> str:
        return self.backend.name

    def revise(
        self, plan: RevisionPlan, context: Sequence[Turn], reply: str, max_new_tokens: int, deadline: float
    ) -> Revision:
        """One revision within ``max_new_tokens`` and ``deadline``; backend errors propagate to the runner."""
        if self.mode == "scaffold":
            return self._scaffold(plan, context, max_new_tokens, deadline)
        return self._free(plan, context, reply, max_new_tokens, deadline)

    def _messages(self, plan: RevisionPlan, context: Sequence[Turn], extra: str = "") -> list[Message]:
        instructions = "\n".join(f"- {line}" for line in plan.instructions)
        return [
            Message("system", _SYSTEM.format(instructions=instructions) + (" " + extra if extra else "")),
            Message("user", _prompt_context(context)),
        ]

    def _scaffold(
        self, plan: RevisionPlan, context: Sequence[Turn], max_new_tokens: int, deadline: float
    ) -> Revision:
        pattern = reflection_pattern(plan.reflect_from, plan.feelings)
        budget = min(max_new_tokens, SCAFFOLD_TOKENS)
        generation = self.backend.generate(
            self._messages(plan, context), budget, deadline, prefix=REFLECTION_PREFIX, pattern=pattern
        )
        written = generation.text.rstrip()
        if generation.finish != "stop" or re.fullmatch(pattern, written) is None:
            reason = _reason_for(generation.finish) if generation.finish != "stop" else "rewrite_rejected"
            return Revision(None, reason, generation.tokens, written, self.mode, generation.elapsed_ms)
        reflection = REFLECTION_PREFIX + _one_feeling_once(written)
        return Revision(
            compose(plan, reflection),
            "rewritten",
            generation.tokens,
            reflection,
            self.mode,
            generation.elapsed_ms,
        )

    def _free(
        self, plan: RevisionPlan, context: Sequence[Turn], reply: str, max_new_tokens: int, deadline: float
    ) -> Revision:
        words = max(20, int(max_new_tokens * 0.7))
        messages = self._messages(plan, context, _FREE_RULES.format(words=words))
        messages.append(Message("user", f"The reply to revise:\n{reply}" if not plan.drop_original else
                                "Write a new reply (the original must not be reused)."))  # fmt: skip
        generation = self.backend.generate(messages, max_new_tokens, deadline)
        if generation.finish == "deadline":
            return Revision(None, "rewrite_timeout", generation.tokens, "", self.mode, generation.elapsed_ms)
        text = clean_generation(generation.text)
        if is_degenerate(text):
            reason = "budget_exhausted" if generation.finish == "length" and not text else "rewrite_rejected"
            return Revision(None, reason, generation.tokens, text, self.mode, generation.elapsed_ms)
        final = text
        if (
            plan.drop_original
            and plan.body
            and plan.body[0] in SAFETY_SUPPORT.values()
            and not _CRISIS.search(text)
        ):
            final = f"{text}\n\n{plan.body[0]}"  # a Safety rewrite always carries the vetted support
        return Revision(final, "rewritten", generation.tokens, text, self.mode, generation.elapsed_ms)


def _one_feeling_once(text: str) -> str:
    # The pattern cannot say "two different feelings": "anxious and anxious" -> "anxious".
    return re.sub(r"\b([a-z ]+?) and \1\.$", r"\1.", text)


def compose(plan: RevisionPlan, reflection: str) -> str:
    """The revision: acknowledgement, reflection and validation, kept original or vetted body, closing."""
    paragraphs = [" ".join(p for p in (plan.opening, reflection, plan.validation) if p)]
    if plan.keep:
        paragraphs.append(plan.keep)
    vetted = (*SAFETY_SUPPORT.values(), *SAFETY_INFO.values())
    safety = [line for line in plan.body if line in vetted]
    steps = [line for line in plan.body if line not in vetted]
    paragraphs.extend(safety)
    if steps:
        paragraphs.append(STEPS_HEADER + "\n" + "\n".join(f"- {s}" for s in steps))
    if plan.closing:
        paragraphs.append(plan.closing)
    return "\n\n".join(p for p in paragraphs if p)
