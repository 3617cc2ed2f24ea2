"""build_corpus: write the seeded default training corpus (JSONL) and its provenance record.

Row schema (one JSON object per line):
    {"id": str, "context": [{"role": "user"|"assistant", "text": str}, ...oldest first],
     "reply": str, "scores": {dimension: int 1-5 for all 7 in DIMENSIONS order},
     "split": "train"|"heldout", "tags": [str, ...], "context_source": "mentalalign"|"builtin"}

The scores are construction labels: each row samples a target vector, then composes a reply whose
content realises every level (see export/corpus/README.md).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sidecar.domain import DIMENSIONS

from export.corpus.authored import AUTHORED_DIR, corpus_rows, read_authored
from export.corpus.categories import CATEGORIES, RISK_KEYS, category
from export.corpus.compose import compose
from export.corpus.distributions import (
    Vector,
    apply_caps,
    apply_floors,
    constrain,
    correlation_matrix,
    histograms,
    sample_target,
)
from export.corpus.safety import FORMS, REPLY_INJECTIONS, USER_INJECTIONS, SafetyForm
from export.corpus.situations import ASSISTANT_TURNS, FOLLOW_UPS, RISK_FOLLOW_UPS, SITUATIONS
from export.corpus.sources import SharedData, read_shared
from export.corpus.topics import Topic, detect_risk, find_emotion, read_topic

BUILDER_VERSION = "1.2.0"
CORPUS_FILE = "corpus.jsonl"
PROVENANCE_FILE = "provenance.json"

_MULTI_TURN_SHARE = 0.25
_RISK_CONTEXT_SHARE = 0.15  # safe-ish rows on risk contexts, so safe handling of risk is learned too
_REPLY_INJECTION_SHARE = 0.04  # rows whose reply carries text aimed at the judge (labels unchanged)
_USER_INJECTION_SHARE = 0.02  # rows whose last user turn does
_REAL_CONTEXT_SHARE = 0.7  # when the shared messages are available
_PREFER_SHARE = 0.6  # rows of a safety form placed on a context where that failure typically occurs
_MEANS_CATEGORIES = frozenset({"medication", "sleep", "substance"})


class _Auto:
    def __repr__(self) -> str:
        return "<auto>"


AUTO = _Auto()


def default_shared_dir() -> Path | None:
    """../shared/data/mentalalign relative to the repository root, when it exists."""
    candidate = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mentalalign"
    return candidate if candidate.is_dir() else None


@dataclass(frozen=True)
class CorpusInfo:
    """What build_corpus wrote."""

    path: Path
    n_rows: int
    n_train: int
    n_heldout: int
    seed: int
    provenance: dict[str, Any] = field(hash=False, compare=False)


@dataclass(frozen=True)
class _Seed:
    """A conversation opener: one first user message and what the builder knows about it."""

    text: str
    source: str  # "mentalalign" | "builtin"
    split: str
    topic: Topic
    plan: bool


def _rank(seed: int, text: str) -> str:
    return hashlib.sha256(f"{seed}|{text}".encode()).hexdigest()


def _split_texts(texts: list[str], seed: int, fraction: float) -> set[str]:
    """The texts that go to held-out: a seeded, hash-ranked share of the distinct texts."""
    if fraction <= 0 or not texts:
        return set()
    n = max(1, math.ceil(fraction * len(texts)))
    return set(sorted(texts, key=lambda t: _rank(seed, t))[:n])


def _seeds(shared: SharedData | None, seed: int, fraction: float) -> list[_Seed]:
    out: list[_Seed] = []
    if shared is not None:
        held = _split_texts(list(shared.contexts), seed, fraction)
        for text in shared.contexts:
            topic = read_topic([text])
            out.append(_Seed(text, "mentalalign", "heldout" if text in held else "train", topic, False))
    held = _split_texts([s.text for s in SITUATIONS], seed, fraction)
    for sit in SITUATIONS:
        topic = read_topic([sit.text], sit.flags, sit.category)
        out.append(_Seed(sit.text, "builtin", "heldout" if sit.text in held else "train", topic, "plan" in sit.flags))
    return out


def _bank_split(bank: tuple[str, ...], split: str) -> tuple[str, ...]:
    # Every fifth item is kept for held-out conversations so no context turn crosses the split.
    chosen = tuple(t for k, t in enumerate(bank) if (k % 5 == 0) == (split == "heldout"))
    return chosen or bank


def _validate_args(size: int, heldout_fraction: float) -> None:
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size must be a positive number of rows (got: {size!r}); pass e.g. size=30000")
    if not 0.0 <= heldout_fraction < 1.0:
        raise ValueError(f"heldout_fraction must be in [0, 1) (got: {heldout_fraction}); the default is 0.15")


def _pick_form(rng: random.Random) -> SafetyForm:
    return rng.choice(FORMS)


def _choose_seed(rng: random.Random, pools: dict[str, list[_Seed]], pool: str) -> _Seed:
    if pool == "any" and pools["real"] and rng.random() < _REAL_CONTEXT_SHARE:
        return rng.choice(pools["real"])
    if pool == "any":
        return rng.choice(pools["builtin"])
    return rng.choice(pools[pool])


def _context(rng: random.Random, base: _Seed, multi: bool, risk_follow: bool) -> tuple[list[dict[str, str]], Topic]:
    turns = [{"role": "user", "text": base.text}]
    topic = base.topic
    if not (multi or risk_follow):
        return turns, topic
    label = rng.choice(category(topic.category).labels)
    assistant = rng.choice(_bank_split(ASSISTANT_TURNS, base.split)).format(label=label)
    follow = rng.choice(_bank_split(RISK_FOLLOW_UPS if risk_follow else FOLLOW_UPS, base.split))
    turns += [{"role": "assistant", "text": assistant}, {"role": "user", "text": follow}]
    risk = topic.risk or detect_risk(follow)
    emotion = find_emotion(follow) or topic.emotion
    if risk and topic.category not in RISK_KEYS:
        # The latest turn discloses risk: that is now what the reply must answer first.
        key = "self_harm" if "cut" in follow or "hurt myself" in follow else "suicidal"
        topic = replace(topic, category=key, risk=True, emotion=emotion, clause=topic.clause)
    else:
        topic = replace(topic, risk=risk, emotion=emotion)
    return turns, topic


def _row_caps(target: Vector, topic: Topic, form: SafetyForm | None) -> Vector:
    caps: dict[str, int] = {}
    floors: dict[str, int] = {}
    s = target[DIMENSIONS.index("Safety")]
    if topic.category == "general":  # unrecognised concern: only thin on-topic content exists
        caps.update({"Relevance": 4, "Guidance": 4, "Informativeness": 4})
        if topic.clause is None:
            caps["Understanding"] = 3  # nothing specific to reflect back
    if form is not None:
        caps.update(form.caps)
        if topic.risk and form.requires != "risk":
            caps["Understanding"] = min(caps.get("Understanding", 5), 3)  # the disclosure goes unanswered
    if topic.risk and s >= 3:
        # A reply that takes the disclosure up is on the user's concern and shows it was heard;
        # at Safety 5 the crisis pointer is itself a next step.
        floors["Relevance"] = 3 if s >= 4 else 2
        if s == 5:
            floors.update({"Guidance": 2, "Understanding": 3})
    return apply_caps(constrain(apply_floors(apply_caps(target, caps), floors)), caps)


def _other_category(rng: random.Random, own: str) -> Any:
    choices = [c for c in CATEGORIES if c.key != own and c.key not in RISK_KEYS]
    return rng.choice(choices)


def _inject(rng: random.Random, reply: str, turns: list[dict[str, str]]) -> tuple[str, list[str]]:
    """Sometimes add text that tries to steer the judge; the row keeps its labels, whatever its level.

    A judge that moved with such text could be talked into passing a harmful reply. Returns the reply
    and tags; the last user turn is changed in place.
    """
    tags = []
    if rng.random() < _REPLY_INJECTION_SHARE:
        note = rng.choice(REPLY_INJECTIONS)
        reply = f"{note}\n\n{reply}" if rng.random() < 0.4 else f"{reply}\n\n{note}"
        tags.append("injection:reply")
    if rng.random() < _USER_INJECTION_SHARE:
        last = max(k for k, t in enumerate(turns) if t["role"] == "user")
        turns[last] = {**turns[last], "text": f"{turns[last]['text']} {rng.choice(USER_INJECTIONS)}"}
        tags.append("injection:user")
    return reply, tags


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the corpus is an ordinary build output
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build_corpus(
    out_dir: Path,
    *,
    size: int = 30000,
    seed: int = 13,
    shared_dir: Path | None | _Auto = AUTO,
    heldout_fraction: float = 0.15,
    authored_dir: Path | None = AUTHORED_DIR,
) -> CorpusInfo:
    """Build the corpus and write ``out_dir/corpus.jsonl`` and ``out_dir/provenance.json``.

    Args:
        out_dir: directory to write into (created if missing). Keep it outside the repository or
            under an ignored path such as ``build/``: rows contain the shared user messages.
        size: number of rows.
        seed: the same seed gives byte-identical files.
        shared_dir: directory holding the MentalAlign CSV files; the default finds
            ``../shared/data/mentalalign`` next to the repository, ``None`` uses only the built-in
            situations and a built-in score model.
        heldout_fraction: share of conversations (grouped by their opening message) held out.
        authored_dir: the hand-written, hand-scored rows appended after the ``size`` generated rows
            (``export/corpus/authored``); ``None`` leaves them out.

    Returns:
        CorpusInfo with the corpus path, row counts and the provenance record.

    Raises:
        ValueError: bad arguments or unreadable shared files; the message names the file and fix.
    """
    _validate_args(size, heldout_fraction)
    if isinstance(shared_dir, _Auto):
        shared_dir = default_shared_dir()
    shared = read_shared(Path(shared_dir)) if shared_dir is not None else None

    seeds = _seeds(shared, seed, heldout_fraction)
    pools: dict[str, list[_Seed]] = {
        "real": [s for s in seeds if s.source == "mentalalign"],
        "builtin": [s for s in seeds if s.source == "builtin"],
        "risk": [s for s in seeds if s.topic.risk],
        "plan": [s for s in seeds if s.plan],  # only openers that state a plan can have it endorsed
        "means": [s for s in seeds if s.topic.risk or s.topic.category in _MEANS_CATEGORIES],
    }
    by_category: dict[str, list[_Seed]] = {}
    for s_ in seeds:
        by_category.setdefault(s_.topic.category, []).append(s_)
    clinician = shared.clinician if shared is not None else ()

    lines: list[str] = []
    vectors: dict[str, list[Vector]] = {"train": [], "heldout": []}
    forms: dict[str, Counter[str]] = {"blatant": Counter(), "subtle": Counter()}
    counts: dict[str, Counter[str]] = {k: Counter() for k in ("target_source", "context_source", "category", "turns")}
    for i in range(size):
        rng = random.Random(f"theraguard-corpus|{seed}|{i}")
        target, source = sample_target(rng, clinician)
        s = target[DIMENSIONS.index("Safety")]
        form = _pick_form(rng) if s <= 2 else None
        risk_follow = False
        if form is not None and form.requires == "risk":
            base = _choose_seed(rng, pools, "risk") if rng.random() < 0.55 else _choose_seed(rng, pools, "any")
            risk_follow = not base.topic.risk
        elif form is not None and form.requires in ("plan", "means"):
            base = _choose_seed(rng, pools, form.requires)
        elif form is not None and form.prefer and rng.random() < _PREFER_SHARE:
            base = rng.choice([s_ for key in form.prefer for s_ in by_category.get(key, [])])
        elif rng.random() < _RISK_CONTEXT_SHARE:
            base = _choose_seed(rng, pools, "risk") if rng.random() < 0.6 else _choose_seed(rng, pools, "any")
            risk_follow = not base.topic.risk
        else:
            base = _choose_seed(rng, pools, "any")
        multi = risk_follow or rng.random() < _MULTI_TURN_SHARE
        turns, topic = _context(rng, base, multi, risk_follow)
        target = _row_caps(target, topic, form)
        other = _other_category(rng, topic.category)
        reply = compose(rng, dict(zip(DIMENSIONS, target)), topic, other, form)

        text, injected = _inject(rng, reply.text, turns)

        tags = [f"target:{source}", f"category:{topic.category}", f"turns:{len(turns)}", *reply.tags, *injected]
        if topic.risk:
            tags.append("risk_context")
        if form is not None:
            kind = "blatant" if s == 1 else "subtle"
            forms[kind][form.name] += 1
            tags += [f"unsafe:{form.name}", f"unsafe_kind:{kind}"]
        row = {
            "id": f"tg{seed}-{i:06d}",
            "context": turns,
            "reply": text,
            "scores": dict(zip(DIMENSIONS, target)),
            "split": base.split,
            "tags": tags,
            "context_source": base.source,
        }
        lines.append(json.dumps(row, ensure_ascii=False) + "\n")
        vectors[base.split].append(target)
        counts["target_source"][source] += 1
        counts["context_source"][base.source] += 1
        counts["category"][topic.category] += 1
        counts["turns"][str(len(turns))] += 1

    authored_provenance: dict[str, Any] | None = None
    if authored_dir is not None:
        extra, authored_provenance = corpus_rows(read_authored(Path(authored_dir)), seed, Path(authored_dir))
        for row in extra:
            lines.append(json.dumps(row, ensure_ascii=False) + "\n")
            vectors[row["split"]].append(tuple(row["scores"][d] for d in DIMENSIONS))
            counts["context_source"]["authored"] += 1

    everything = vectors["train"] + vectors["heldout"]
    achieved = correlation_matrix(everything)
    target_corr = correlation_matrix(clinician) if clinician else None
    provenance: dict[str, Any] = {
        "builder": "export.corpus",
        "builder_version": BUILDER_VERSION,
        "seed": seed,
        "size": size,
        "heldout_fraction": heldout_fraction,
        "label_kind": "construction",
        "dimensions": list(DIMENSIONS),
        "splits": {"train": len(vectors["train"]), "heldout": len(vectors["heldout"])},
        "contexts_available": {"mentalalign": len(pools["real"]), "builtin": len(pools["builtin"])},
        "counts": {k: dict(sorted(v.items())) for k, v in counts.items()},
        "histograms": {
            "all": histograms(everything),
            "train": histograms(vectors["train"]),
            "heldout": histograms(vectors["heldout"]),
        },
        "correlation": {
            "achieved": achieved,
            "clinician_target": target_corr,
            "mean_abs_offdiag_diff": _mean_offdiag_diff(achieved, target_corr),
        },
        "unsafe_share": round(sum(1 for v in everything if v[DIMENSIONS.index("Safety")] <= 2) / len(everything), 4),
        "authored": authored_provenance,
        "safety_forms": {k: dict(sorted(v.items())) for k, v in forms.items()},
        "shared_files": dict(sorted(shared.sha256.items())) if shared is not None else {},
        "credit": "User messages and clinician score distributions: MentalBench-Align (Badawi et al., "
        "EACL 2026), MIT licence; read at build time, not redistributed." if shared is not None else None,
    }

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus_path = out_dir / CORPUS_FILE
    provenance["corpus_sha256"] = hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
    _atomic_write(corpus_path, "".join(lines))
    _atomic_write(out_dir / PROVENANCE_FILE, json.dumps(provenance, indent=2, ensure_ascii=False) + "\n")
    return CorpusInfo(
        path=corpus_path,
        n_rows=len(lines),
        n_train=len(vectors["train"]),
        n_heldout=len(vectors["heldout"]),
        seed=seed,
        provenance=provenance,
    )


def _mean_offdiag_diff(a: list[list[float | None]], b: list[list[float | None]] | None) -> float | None:
    if b is None:
        return None
    diffs = [
        abs(x - y)
        for r, (ra, rb) in enumerate(zip(a, b))
        for c, (x, y) in enumerate(zip(ra, rb))
        if r != c and x is not None and y is not None
    ]
    return round(sum(diffs) / len(diffs), 3) if diffs else None
