"""`timbre_rag(query)`: keyword retrieval over a library of clips and voices."""

import json

import pytest

from tools.builtin.audio_library import AudioEntry, AudioLibrary, index_audio_folder, terms
from tools.builtin.timbre_rag import AudioSearchResult, make_timbre_rag

ENTRIES = [
    AudioEntry(id="narrator", kind="voice", title="Deep narrator",
               description="a calm, deep male voice with a British accent", path="narrator.wav"),
    AudioEntry(id="kid", kind="voice", title="Cheerful child",
               description="a bright, cheerful young girl's voice", tags=["child", "happy"]),
    AudioEntry(id="rain", kind="clip", title="Rain on a window",
               description="gentle rain tapping on glass, thunder far away", transcript=""),
    AudioEntry(id="birthday", kind="clip", title="Birthday song",
               description="a group singing", transcript="happy birthday to you, happy birthday dear friend"),
    AudioEntry(id="laoshi", kind="voice", title="老师", description="温柔的女老师声音"),
]


@pytest.fixture
def library(tmp_path):
    return AudioLibrary(ENTRIES, root=tmp_path)


@pytest.mark.parametrize("query, expected", [
    ("switch to a deep British male voice", "narrator"),
    ("play the sound of rain and thunder", "rain"),
    ("sing happy birthday", "birthday"),
    ("a cheerful child", "kid"),
    ("温柔的女声", "laoshi"),
])
def test_keyword_search_finds_the_right_entry(library, query, expected):
    assert library.search(query)[0].entry.id == expected


def test_stopwords_alone_match_nothing(library):
    assert terms("please play something for me") == []
    assert library.search("please play something") == []
    assert [h.entry.kind for h in library.search("happy", kind="voice")] == ["voice"]


async def test_tool_returns_an_action_for_the_agent(library, tmp_path):
    tool = make_timbre_rag(library)
    assert tool.name == "timbre_rag" and list(tool.parameters_schema["properties"]) == ["query"]
    voice = AudioSearchResult.model_validate_json((await tool.invoke({"query": "deep calm British voice"})).content)
    assert (voice.found, voice.action, voice.id) == (True, "switch_voice", "narrator")
    assert voice.audio_path == str(tmp_path / "narrator.wav")
    clip = AudioSearchResult.model_validate_json((await tool.invoke({"query": "rain sounds"})).content)
    assert (clip.action, clip.id) == ("play_clip", "rain")
    miss = AudioSearchResult.model_validate_json((await tool.invoke({"query": "bagpipes"})).content)
    assert (miss.found, miss.action) == (False, "none") and "bagpipes" in miss.message


def test_index_a_folder_of_wavs_and_round_trip(tmp_path):
    (tmp_path / "ocean_waves.wav").write_bytes(b"RIFF")
    (tmp_path / "ocean_waves.txt").write_text("")
    (tmp_path / "anna.wav").write_bytes(b"RIFF")
    (tmp_path / "anna.txt").write_text("Hello, I am Anna.")
    (tmp_path / "anna.json").write_text(json.dumps({"kind": "voice", "description": "warm female voice"}))
    library = index_audio_folder(tmp_path)
    assert [(e.id, e.kind) for e in library.entries] == [("anna", "voice"), ("ocean_waves", "clip")]
    assert library.search("ocean waves")[0].entry.id == "ocean_waves"
    library.save(tmp_path / "library.json")
    again = AudioLibrary.load(tmp_path / "library.json")
    assert again.entries == library.entries
    assert again.audio_path(again.entries[0]) == tmp_path / "anna.wav"


def test_duplicate_ids_are_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        AudioLibrary([ENTRIES[0], ENTRIES[0]])
