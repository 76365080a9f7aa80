"""A spoken Chinese turn on the real embedded speech models: the stack a `zh` persona gets
(Whisper base listening for Chinese, the Mandarin voice with Piper for English words) hears a
question spoken by the Mandarin voice and speaks a mixed reply. The LLM is scripted, so the
test is about the speech path, and runs in seconds (`stepvox chat --persona xiaoyue` with the
real LLM is covered by test_personas_cli.py)."""

from __future__ import annotations

import numpy as np
import pytest

from embedded_gate import require, require_embedded

require_embedded()
require("ai_edge_litert", "pypinyin")
require("opencc", extra="eval")
pytestmark = pytest.mark.embedded

from agent.setup.embedded_stack import load_embedded_stack  # noqa: E402
from agent.events import AudioChunkEvent, TranscriptEvent  # noqa: E402
from fakes import ScriptedChatModel  # noqa: E402
from personas import PersonaLibrary  # noqa: E402
from speech.scoring.character_error_rate import character_error_rate  # noqa: E402
from speech.script_routing import BilingualDecoder  # noqa: E402
from agent.voice_agent import VoiceAgent

QUESTION = "你好，今天天气怎么样？"
REPLY = "(四川话)今天天气很好，我们去 Starbucks 喝咖啡吧。"


@pytest.fixture(scope="module")
def stack():
    return load_embedded_stack(progress=False, with_llm=False, language="zh")


async def test_a_chinese_turn_is_heard_and_spoken_in_two_voices(stack):
    assert isinstance(stack.decoder, BilingualDecoder) and stack.tokenizer.language == "zh"
    question = np.concatenate([c.samples async for c in stack.decoder.synthesize(QUESTION)])
    agent = VoiceAgent.from_stack(stack, ScriptedChatModel([REPLY]), persona=PersonaLibrary().get("xiaoyue"))
    heard, chunks = "", []
    async for event in agent.stream(audio=question, sample_rate=stack.decoder.sample_rate):
        if isinstance(event, TranscriptEvent):
            heard = event.text
        elif isinstance(event, AudioChunkEvent):
            chunks.append(event.chunk)
    assert character_error_rate(QUESTION, heard) <= 0.15, heard
    voices = [c.extra.get("voice") for c in chunks]
    assert "zh" in voices and "en" in voices, voices  # Starbucks in the English voice
    assert {c.sample_rate for c in chunks} == {24000}
    # No voice speaks Sichuanese: Mandarin it is, reported on the turn's audio events.
    assert all(c.extra.get("voice_fallback") == "sichuanese -> mandarin"
               for c in chunks if c.extra.get("voice") == "zh")
    assert "四川话" not in "".join(c.text for c in chunks)
