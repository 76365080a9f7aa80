"""A server loaded for English serves 小跃 in Chinese: `PersonaAgents` with `LanguageVoices`
(what `stepvox serve` passes) gives a zh persona the loaded Whisper listening for Chinese and
the Mandarin voice, shares every loaded model, gives each session its own record of dialect
fallbacks, and refuses a zh persona on tiny.en as an `invalid_session` error.

The Mandarin voice and the Whisper models are the real packaged ones; the LLM is scripted
(the session set-up never runs it)."""

from __future__ import annotations

import pytest

from embedded_gate import require

require("ai_edge_litert", "pypinyin", "faster_whisper")

from agent import VoiceAgent  # noqa: E402
from agent.models.store import model_store  # noqa: E402
from agent.setup.language_voices import LanguageVoices  # noqa: E402
from agent.models.errors import ModelUnavailableError  # noqa: E402
from agent.realtime.persona_agents import PersonaAgents, PersonaLanguageError  # noqa: E402
from agent.settings import StepvoxSettings  # noqa: E402
from fakes import RecordingDecoder, ScriptedChatModel  # noqa: E402
from personas import PersonaLibrary  # noqa: E402
from speech.script_routing import BilingualDecoder  # noqa: E402
from speech.whisper.asr import WhisperSpeechTokenizer  # noqa: E402


@pytest.fixture(scope="module")
def store():
    return model_store(StepvoxSettings(), progress=False)


@pytest.fixture(scope="module")
def voices(store):
    voices = LanguageVoices(store=store)
    try:
        voices.mandarin()
    except ModelUnavailableError as exc:
        pytest.skip(str(exc))
    return voices


def _base(tokenizer) -> VoiceAgent:
    return VoiceAgent(ScriptedChatModel(["好的。"]), decoder=RecordingDecoder(22050),
                      tokenizer=tokenizer, tools=[])


def test_a_zh_persona_hears_chinese_and_speaks_mandarin_on_the_loaded_models(store, voices):
    english_whisper = WhisperSpeechTokenizer(store.resolve("whisper-base"), language="en")
    base = _base(english_whisper)
    agents = PersonaAgents(base, PersonaLibrary(), voices=voices)
    one, two = agents.get("xiaoyue"), agents.get("XiaoYue")
    for agent in (one, two):
        assert isinstance(agent.services.decoder, BilingualDecoder)
        assert agent.services.decoder.mandarin is voices.mandarin()
        assert agent.services.decoder.english is base.services.decoder
        assert agent.services.tokenizer.language == "zh"
        assert agent.services.tokenizer._model is english_whisper._model  # not loaded twice
        assert agent.persona.name == "小跃"
    # Two sessions, two records of the fallbacks logged: each session is told once.
    assert one.services.decoder is not two.services.decoder
    assert english_whisper.language == "en"  # the English sessions still listen for English
    assert agents.get(None) is base
    skyway = agents.get("skyway-agent")
    assert skyway.services.decoder is base.services.decoder
    assert skyway.services.tokenizer is english_whisper


def test_a_zh_persona_on_tiny_en_is_refused_with_what_to_use(store, voices):
    tiny = WhisperSpeechTokenizer(store.resolve("whisper-tiny.en"), language="en")
    agents = PersonaAgents(_base(tiny), PersonaLibrary(), voices=voices)
    with pytest.raises(PersonaLanguageError, match="--asr base"):
        agents.get("xiaoyue")
    assert agents.get("skyway-agent").services.tokenizer is tiny


def test_without_voices_a_persona_keeps_the_loaded_voice():
    """Embedding code that builds `PersonaAgents(agent, library)` itself sees no change."""
    base = _base(None)
    agents = PersonaAgents(base, PersonaLibrary())
    assert agents.get("xiaoyue").services.decoder is base.services.decoder
