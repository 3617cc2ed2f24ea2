"""Shared fixtures: the real rewriter model (built once per checkout) and the real judge bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
REWRITER_DIR = REPO / "models" / "rewriter"


@pytest.fixture(scope="session")
def rewriter_dir() -> Path:
    # The export builds it on a fresh clone (~40 s on 2 cores); afterwards it is cached (gitignored).
    from export.rewriter import ensure_rewriter

    return ensure_rewriter(REWRITER_DIR)
