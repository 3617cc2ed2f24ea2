"""``python -m export``: the judge export command line."""

from __future__ import annotations

from export.cli import main

raise SystemExit(main())
