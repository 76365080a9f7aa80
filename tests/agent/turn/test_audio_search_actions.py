"""Audio search (timbre_rag) hits act on the conversation: a clip is played to the user, a
voice becomes the conversation's speaking style. Uses the built-in audio library."""

from __future__ import annotations

from fakes import RecordingDecoder, ScriptedChatModel

from agent import ToolCall, VoiceAgent
from agent.events import AudioChunkEvent, SentenceEvent
from tools import make_timbre_rag
from tools.builtin.audio_library_files import builtin_audio_library


def make_agent(*replies):
    decoder = RecordingDecoder(sample_rate=22050)
    agent = VoiceAgent(ScriptedChatModel(list(replies)), decoder=decoder,
                       tools=[make_timbre_rag(builtin_audio_library())])
    return agent, decoder


async def test_a_clip_hit_is_played_before_the_answer():
    agent, decoder = make_agent(
        ToolCall(name="timbre_rag", arguments={"query": "boarding announcement"}),
        "That was our boarding call.")
    events = [e async for e in agent.stream("Play the boarding announcement.")]
    sentences = [e.text for e in events if isinstance(e, SentenceEvent)]
    assert sentences[0].startswith("[") and sentences[-1] == "That was our boarding call."
    clip = next(e.chunk for e in events if isinstance(e, AudioChunkEvent))
    assert clip.sample_rate == 22050 and clip.duration_s > 3.0  # the 5 s clip, resampled
    assert decoder.texts == ["That was our boarding call."]  # the clip was not synthesized


async def test_a_voice_hit_changes_how_later_replies_are_spoken():
    agent, decoder = make_agent(
        ToolCall(name="timbre_rag", arguments={"query": "deep narrator voice"}),
        "Here is the narrator.", "Still the narrator.")
    await agent.arespond("Use a deep narrator voice.", conversation_id="n")
    await agent.arespond("Go on.", conversation_id="n")
    assert decoder.styles[-1] is not None
    assert decoder.styles[-1].pitch < 0 and decoder.styles[-1].speed < 0
    # Another conversation keeps the persona's own voice.
    agent_b, decoder_b = make_agent("Hello.")
    await agent_b.arespond("Hi.", conversation_id="other")
    assert decoder_b.styles[-1] is None or decoder_b.styles[-1].is_neutral
