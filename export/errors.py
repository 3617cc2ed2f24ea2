"""Errors the export pipeline stops with; every message names the input, what is wrong and the fix."""

from __future__ import annotations


class ExportError(ValueError):
    """Bad input to an export stage (file, corpus, model, option)."""


class CorpusError(ExportError):
    """A corpus file that cannot be used."""


class TeacherError(ExportError):
    """A teacher that cannot produce labels (scores file, model directory, dimension names)."""
