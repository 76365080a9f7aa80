"""The shipped `timbre_rag` library (`tools/data/audio_library/`, made by
`scripts/make_audio_library.py`): it loads, its audio is sound, and it is found by keywords."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import soundfile as sf

from tools.builtin.audio_library_files import (
    BUILTIN_AUDIO_LIBRARY_DIR, builtin_audio_library, builtin_voice_styles,
)
from tools.builtin.timbre_rag import AudioSearchResult, make_timbre_rag

CLIPS = {"skyway_boarding", "bedtime_story_whisper", "lullaby_line", "rap_line",
         "cheerful_welcome", "breathing_cue"}
VOICES = {"deep_narrator", "bright_presenter", "whispering_storyteller", "singing_voice"}
STYLE_FIELDS = {"emotion", "emotion_level", "language", "speed", "pitch", "volume", "rap",
                "singing", "whisper"}


@pytest.fixture(scope="module")
def library():
    return builtin_audio_library()


def test_the_library_loads_with_every_clip_and_voice(library):
    assert {e.id for e in library.entries if e.kind == "clip"} == CLIPS
    assert {e.id for e in library.entries if e.kind == "voice"} == VOICES
    assert library.root == BUILTIN_AUDIO_LIBRARY_DIR


def test_every_entry_has_a_16k_mono_wav_and_text(library):
    total = 0
    for entry in library.entries:
        path = library.audio_path(entry)
        assert path is not None and path.is_file(), entry.id
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.subtype) == (16_000, 1, "PCM_16"), entry.id
        assert 0.5 < info.duration < 8.0, (entry.id, info.duration)
        assert entry.transcript and entry.description and entry.title and entry.tags, entry.id
        total += path.stat().st_size
    assert total < 1_500_000  # the shipped library stays small


def test_voices_keep_the_style_that_makes_them(library):
    styles = builtin_voice_styles()
    assert set(styles) == VOICES
    for voice_id, style in styles.items():
        assert style and set(style) <= STYLE_FIELDS, (voice_id, style)
    assert styles["deep_narrator"]["pitch"] < 0 and styles["deep_narrator"]["speed"] < 0
    assert styles["whispering_storyteller"]["whisper"] is True
    # Clips are played as recorded: no style to apply.
    for clip_id in CLIPS:
        meta = json.loads((BUILTIN_AUDIO_LIBRARY_DIR / f"{clip_id}.json").read_text(encoding="utf-8"))
        assert meta["kind"] == "clip" and "style" not in meta


@pytest.mark.parametrize("query, action, expected", [
    ("whisper story", "play_clip", "bedtime_story_whisper"),
    ("deep narrator voice", "switch_voice", "deep_narrator"),
    ("boarding announcement", "play_clip", "skyway_boarding"),
    ("sing a lullaby", "play_clip", "lullaby_line"),
    ("a breathing exercise", "play_clip", "breathing_cue"),
    ("a bright fast presenter", "switch_voice", "bright_presenter"),
])
async def test_timbre_rag_finds_the_shipped_entries(library, query, action, expected):
    result = await make_timbre_rag(library).invoke({"query": query})
    assert not result.is_error
    found = AudioSearchResult.model_validate_json(result.content)
    assert (found.found, found.action, found.id) == (True, action, expected)
    assert found.audio_path == str(BUILTIN_AUDIO_LIBRARY_DIR / f"{expected}.wav")


async def test_timbre_rag_misses_cleanly(library):
    result = await make_timbre_rag(library).invoke({"query": "bagpipes"})
    missed = AudioSearchResult.model_validate_json(result.content)
    assert (missed.found, missed.action) == (False, "none")


def test_the_loader_imports_no_other_stepvox_package():
    code = (
        "import sys, tools.builtin.audio_library_files; "
        "layers = {'agent', 'speech', 'memory', 'personas'}; "
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in layers)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.embedded
def test_packaged_whisper_hears_the_transcript():
    from embedded_gate import EVAL_MODULES, require

    require("faster_whisper")
    require(*EVAL_MODULES, extra="eval")
    from agent.models.cache import ModelStore
    from speech.audio import load_audio
    from speech.whisper.asr import WhisperSpeechTokenizer
    from speech.scoring.word_error_rate import word_error_rate

    asr = WhisperSpeechTokenizer(ModelStore(progress=False).resolve("whisper-base"))
    wav = BUILTIN_AUDIO_LIBRARY_DIR / "skyway_boarding.wav"
    heard = asr.transcribe_sync(load_audio(wav)).text
    reference = wav.with_suffix(".txt").read_text(encoding="utf-8")
    assert word_error_rate(reference, heard) <= 0.25, heard
