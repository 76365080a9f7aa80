"""Dialect tags without a voice fall back clearly, on the real speech models of a zh persona.

Tried: one session (one agent, one conversation) whose replies open with (粤语) and then
(四川话), twice each, spoken by the stack a zh persona gets (Whisper base listening for
Chinese, the Mandarin voice). The replies are scripted: the tags must come from the model,
and the 0.5B model does not write them on request. Required: each fallback logged once in the
session, every Mandarin chunk of the turn's events marked with it, the speech understood, and
the tag never read out (Whisper, told the audio is Chinese, hears neither 粤语 nor 四川话).
A second session is told again, once.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from embedded_gate import require, require_embedded

require_embedded()
require("ai_edge_litert", "pypinyin")
require("opencc", extra="eval")
pytestmark = pytest.mark.embedded

from agent.setup.embedded_stack import load_embedded_stack  # noqa: E402
from agent.events import AudioChunkEvent  # noqa: E402
from fakes import ScriptedChatModel  # noqa: E402
from personas import PersonaLibrary  # noqa: E402
from speech.audio import AudioClip  # noqa: E402
from speech.scoring.character_error_rate import character_error_rate  # noqa: E402
from agent.voice_agent import VoiceAgent

REPLIES = {
    "cantonese": ("(粤语)你好，今日天气好好。", "你好，今日天气好好。"),
    "sichuanese": ("(四川话)今天耍得巴适得很。", "今天耍得巴适得很。"),
}


@pytest.fixture(scope="module")
def stack():
    return load_embedded_stack(progress=False, with_llm=False, language="zh")


async def _session(stack, caplog):
    """Four turns in one conversation: Cantonese, Sichuanese, Cantonese, Sichuanese."""
    scripted = [REPLIES[d][0] for d in ("cantonese", "sichuanese") * 2]
    decoder = stack.decoder.for_session()
    agent = VoiceAgent.from_stack(stack, ScriptedChatModel(scripted), persona=PersonaLibrary().get("xiaoyue"))
    agent = agent.with_services(decoder=decoder)
    turns = []
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="speech.script_routing"):
        for _ in scripted:
            chunks = [e.chunk async for e in agent.stream("你会说方言吗？", conversation_id="s1")
                      if isinstance(e, AudioChunkEvent)]
            turns.append(chunks)
    warnings = [r.getMessage() for r in caplog.records]
    return turns, warnings


async def test_each_fallback_is_logged_once_and_reported_on_the_turns_audio(stack, caplog):
    turns, warnings = await _session(stack, caplog)
    assert len(warnings) == 2, warnings
    assert "cantonese" in warnings[0] and "sichuanese" in warnings[1]
    for chunks, dialect in zip(turns, ("cantonese", "sichuanese") * 2):
        assert chunks
        assert {c.extra.get("voice_fallback") for c in chunks} == {f"{dialect} -> mandarin"}
    again, warnings = await _session(stack, caplog)  # a new session is told again, once
    assert len(warnings) == 2, warnings


async def test_the_tag_is_never_read_out(stack):
    from speech.whisper.asr import WhisperSpeechTokenizer

    assert isinstance(stack.tokenizer, WhisperSpeechTokenizer)
    agent = VoiceAgent.from_stack(stack, ScriptedChatModel([REPLIES["cantonese"][0], REPLIES["sichuanese"][0]]),
                        persona=PersonaLibrary().get("xiaoyue"))
    for dialect in ("cantonese", "sichuanese"):
        reply = await agent.arespond("你会说方言吗？", conversation_id="s2")
        said = REPLIES[dialect][1]
        assert reply.text.strip() == said  # the reply's text carries no tag either
        heard = stack.tokenizer.transcribe_sync(AudioClip(reply.audio, reply.sample_rate)).text
        assert "粤语" not in heard and "四川" not in heard and "粵語" not in heard, heard
        assert character_error_rate(said, heard) <= 0.35, heard
        assert len(reply.audio) / reply.sample_rate < 4.0  # no extra words spoken
    assert np.isfinite(reply.audio).all()
