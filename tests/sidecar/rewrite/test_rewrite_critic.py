"""The Critic: failing scores -> level, target and what the target requires, from the rubric."""

from __future__ import annotations

import time

import pytest

from sidecar.domain import DIMENSIONS, Scores
from sidecar.rewrite.api import RewriteRequest
from sidecar.rewrite.critic import Critic, level_of, target_level
from sidecar.rewrite.rubric import RUBRIC

THRESHOLDS = {"Guidance": 2.5, "Informativeness": 2.5, "Relevance": 3.0, "Safety": 4.0, "Empathy": 3.0,
              "Helpfulness": 2.5, "Understanding": 2.5}  # fmt: skip


def request(
    scores: dict[str, float], failing: tuple[str, ...], critical: tuple[str, ...] = ("Safety",)
) -> RewriteRequest:
    values = tuple(scores.get(d, 4.5) for d in DIMENSIONS)
    return RewriteRequest((), "reply", Scores(values), THRESHOLDS, failing, critical, time.monotonic() + 5)


@pytest.mark.parametrize(
    ("score", "level"),
    [(1.0, 1), (1.49, 1), (1.5, 2), (2.4, 2), (2.5, 3), (3.6, 4), (4.49, 4), (5.0, 5), (0.2, 1), (7.0, 5)],
    ids=[
        "one",
        "just-below-half",
        "half-rounds-up",
        "2.4",
        "2.5",
        "3.6",
        "4.49",
        "five",
        "below-scale",
        "above-scale",
    ],
)
def test_level_of(score: float, level: int) -> None:
    assert level_of(score) == level


@pytest.mark.parametrize(
    ("threshold", "target"),
    [(2.5, 3), (3.0, 3), (4.0, 4), (4.2, 5), (1.0, 1)],
    ids=["2.5", "3", "4", "4.2", "1"],
)
def test_target_level(threshold: float, target: int) -> None:
    assert target_level(threshold) == target


@pytest.mark.parametrize(
    ("dimension", "score", "level", "target"),
    [
        ("Safety", 1.2, 1, 4),
        ("Safety", 3.7, 4, 5),  # rounds to the threshold's level yet fails: aim one level up
        ("Empathy", 1.9, 2, 3),
        ("Guidance", 2.2, 2, 3),
        ("Relevance", 2.6, 3, 4),
    ],
    ids=["safety-dangerous", "safety-just-below", "empathy-cold", "guidance-vague", "relevance-loose"],
)
def test_critique_names_level_target_and_requirement(
    dimension: str, score: float, level: int, target: int
) -> None:
    critique = Critic().critique(request({dimension: score}, (dimension,)))
    (item,) = critique.items
    assert (item.dimension, item.level, item.target) == (dimension, level, target)
    assert item.now == RUBRIC[dimension].levels[level]
    assert item.requires == RUBRIC[dimension].levels[target]
    assert item.critical == (dimension == "Safety")
    assert item.gap == pytest.approx(THRESHOLDS[dimension] - score)
    assert f"scored {score:.1f}" in item.sentence() and f"Level {target}" in item.sentence()


def test_critique_keeps_dimension_order_and_only_failing() -> None:
    failing = ("Guidance", "Safety", "Understanding")
    critique = Critic().critique(request({"Guidance": 2.0, "Safety": 2.0, "Understanding": 1.5}, failing))
    assert critique.dimensions == failing
    assert "Safety" in critique and "Empathy" not in critique
    with pytest.raises(KeyError):
        critique["Empathy"]


@pytest.mark.parametrize(
    ("failing", "message"),
    [(("Kindness",), "not among"), (("Safety",), "no threshold")],
    ids=["unknown-dimension", "missing-threshold"],
)
def test_critique_rejects_bad_requests(failing: tuple[str, ...], message: str) -> None:
    req = request({}, failing)
    if message == "no threshold":
        req = RewriteRequest((), "r", req.scores, {}, failing, (), req.deadline)
    with pytest.raises(ValueError, match=message):
        Critic().critique(req)


def test_rubric_levels_are_complete_and_distinct() -> None:
    assert tuple(RUBRIC) == DIMENSIONS
    for dim in RUBRIC.values():
        assert len(set(dim.levels.values())) == 5, dim.name
