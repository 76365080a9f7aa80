"""The turn graph hands the user's clip to a model that hears audio (Step-Audio 2 over the vLLM
double on loopback); older turns reach it as their transcripts, and history stays text."""

from __future__ import annotations

import numpy as np
from fakes import FixedTranscriber, RecordingDecoder, ScriptedChatModel
from vllm_loopback import Reply

from agent.turn.nodes import HEARD_WITHOUT_TRANSCRIPT
from agent.backends.step_audio.step_audio2 import StepAudio2Model
from agent.voice_agent import VoiceAgent
from memory import InMemoryDialogueStore
from speech.audio import AudioClip


def tone(seconds: float, rate: int = 16_000) -> AudioClip:
    t = np.arange(int(seconds * rate)) / rate
    return AudioClip((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)


def agent_for(model, *, tokenizer=None, memory=None) -> VoiceAgent:
    return VoiceAgent(model, decoder=RecordingDecoder(), tokenizer=tokenizer, tools=[],
                      memory=memory or InMemoryDialogueStore())


async def test_the_newest_turn_goes_up_as_audio_and_older_turns_as_transcripts(sa2_server):
    sa2_server.state.replies.extend([Reply(pieces=["Hi there."]), Reply(pieces=["It is a tone."])])
    asr = FixedTranscriber("what is this sound")
    agent = agent_for(StepAudio2Model(base_url=sa2_server.base_url), tokenizer=asr)
    await agent.arespond("hello", conversation_id="c1")
    reply = await agent.arespond(audio=tone(2.0), conversation_id="c1")

    assert reply.transcript == "what is this sound" and reply.text == "It is a tone."
    messages = sa2_server.state.requests[1]["messages"]
    older = [m for m in messages if m["role"] == "human"][:-1]
    assert [m["content"] for m in older] == ["hello"]  # text only
    newest = messages[-1]["content"]
    assert [part["type"] for part in newest] == ["input_audio", "text"]
    assert newest[1]["text"] == "what is this sound"
    history = await agent.services.memory.history("c1")
    assert [t.text for t in history] == ["hello", "Hi there.", "what is this sound", "It is a tone."]


async def test_a_model_that_hears_audio_needs_no_asr_and_history_keeps_a_marker(sa2_server):
    sa2_server.state.replies.append(Reply(pieces=["I heard a hum."]))
    agent = agent_for(StepAudio2Model(base_url=sa2_server.base_url))  # no tokenizer at all
    reply = await agent.arespond(audio=tone(1.5), conversation_id="c2")

    assert reply.text == "I heard a hum."
    content = sa2_server.state.requests[0]["messages"][-1]["content"]
    assert content[0]["type"] == "input_audio"
    history = await agent.services.memory.history("c2")
    assert history[0].text == HEARD_WITHOUT_TRANSCRIPT


async def test_a_text_only_model_gets_the_transcript_and_never_the_clip():
    model = ScriptedChatModel(["Sure."])  # has no `accepts_audio`
    agent = agent_for(model, tokenizer=FixedTranscriber("book a table"))
    reply = await agent.arespond(audio=tone(1.0), conversation_id="c3")

    assert reply.transcript == "book a table" and reply.text == "Sure."
    assert model.calls[0][0][-1].content == "book a table"
