"""Default training corpus: seeded (context, reply, 7 construction scores) rows for the judge."""

from __future__ import annotations

from export.corpus.build import BUILDER_VERSION, CorpusInfo, build_corpus, default_shared_dir

__all__ = ["BUILDER_VERSION", "CorpusInfo", "build_corpus", "default_shared_dir"]
