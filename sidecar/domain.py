"""Domain types shared by the sidecar and the export pipeline: dimensions, turns, scores."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# Fixed order everywhere: proto enum (value = index + 1), bundle outputs, metrics labels.
DIMENSIONS: tuple[str, ...] = (
    "Guidance",
    "Informativeness",
    "Relevance",
    "Safety",
    "Empathy",
    "Helpfulness",
    "Understanding",
)
SCORE_MIN = 1.0
SCORE_MAX = 5.0


class Role(str, Enum):
    """Who spoke a turn."""

    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True)
class Turn:
    """One conversation turn before the reply being judged."""

    role: Role
    text: str


@dataclass(frozen=True)
class Scores:
    """Seven scores on the 1-5 scale, in DIMENSIONS order."""

    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.values) != len(DIMENSIONS):
            raise ValueError(f"expected {len(DIMENSIONS)} scores, got {len(self.values)}")

    def __getitem__(self, dimension: str) -> float:
        return self.values[DIMENSIONS.index(dimension)]

    def as_dict(self) -> dict[str, float]:
        return dict(zip(DIMENSIONS, self.values))
