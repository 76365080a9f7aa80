"""`VoiceAgent`'s public API: audio input paths, bad input, sync use, warm-up and timings.

Speech models are fakes (`FixedTranscriber`, `FixedVad`, `RecordingDecoder`), so what is
tested is the agent's handling of input and stages, not recognition quality.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from agent import (
    EmptyTurnError, SentenceEvent, TranscriptEvent, TurnDoneEvent, VoiceAgent,
)
from fakes import FixedTranscriber, FixedVad, RecordingDecoder, ScriptedChatModel
from speech import (
    AudioClip, AudioTooLongError, CorruptAudioError, EmptyAudioError, InvalidSamplesError,
    SilentAudioError,
)
from tools import get_date_time

HEARD = "what time is it"
ANSWER = "It is 12 noon. Anything else?"
# The test utterance: 0.3 s of silence, 0.5 s of "speech" (a 300 Hz tone), 0.2 s of silence.
LEAD_S, SPEECH_S, TAIL_S = 0.3, 0.5, 0.2


def utterance(rate: int, channels: int = 1) -> np.ndarray:
    """float32 samples, shape (n,) or (n, channels)."""
    n_lead, n_speech, n_tail = (int(round(s * rate)) for s in (LEAD_S, SPEECH_S, TAIL_S))
    t = np.arange(n_speech) / rate
    tone = 0.4 * np.sin(2 * np.pi * 300.0 * t)
    mono = np.concatenate([np.zeros(n_lead), tone, np.zeros(n_tail)]).astype(np.float32)
    return mono if channels == 1 else np.repeat(mono[:, None], channels, axis=1)


def encoded(rate: int, fmt: str) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, utterance(rate), rate, format=fmt, subtype="PCM_16")
    return buffer.getvalue()


def audio_agent(*, tokenizer=True, vad=True, decoder=None, model=None, **kwargs):
    model = model or ScriptedChatModel([ANSWER])
    transcriber = FixedTranscriber(HEARD) if tokenizer else None
    detector = FixedVad() if vad else None
    decoder = decoder or RecordingDecoder()
    agent = VoiceAgent(model, decoder=decoder, tokenizer=transcriber, vad=detector, tools=[],
                       **kwargs)
    return agent, model, transcriber, detector, decoder


async def events_of(agent, *args, **kwargs):
    return [e async for e in agent.stream(*args, **kwargs)]


# --------------------------------------------------------------------------------- good audio


def _wav_path(tmp_path):
    path = tmp_path / "question.wav"
    sf.write(path, utterance(16000), 16000, subtype="PCM_16")
    return {"audio": path}, 16000


def _wav_path_str(tmp_path):
    source, rate = _wav_path(tmp_path)
    return {"audio": str(source["audio"])}, rate


AUDIO_INPUTS = {
    "wav-path": _wav_path,
    "wav-path-str": _wav_path_str,
    "wav-bytes": lambda tmp: ({"audio": encoded(16000, "WAV")}, 16000),
    "flac-bytes": lambda tmp: ({"audio": encoded(22050, "FLAC")}, 22050),
    "numpy-44k1-stereo-float": lambda tmp: (
        {"audio": utterance(44100, 2), "sample_rate": 44100}, 44100),
    "numpy-44k1-stereo-int16": lambda tmp: (
        {"audio": (utterance(44100, 2) * 32767).astype(np.int16), "sample_rate": 44100}, 44100),
    "audio-clip": lambda tmp: ({"audio": AudioClip(utterance(16000), 16000)}, 16000),
}


@pytest.mark.parametrize("make_input", AUDIO_INPUTS.values(), ids=AUDIO_INPUTS.keys())
async def test_audio_turn_is_transcribed_and_answered(make_input, tmp_path):
    kwargs, rate = make_input(tmp_path)
    agent, model, transcriber, vad, decoder = audio_agent()

    events = await events_of(agent, conversation_id="a", **kwargs)

    assert isinstance(events[0], TranscriptEvent) and events[0].text == HEARD
    reply = events[-1].reply
    assert isinstance(events[-1], TurnDoneEvent)
    assert reply.transcript == HEARD and reply.text == ANSWER
    assert decoder.texts == ["It is 12 noon.", "Anything else?"]
    # The VAD saw the whole (mono) clip at its own rate ...
    [seen] = vad.clips
    assert seen.sample_rate == rate
    assert seen.duration_s == pytest.approx(LEAD_S + SPEECH_S + TAIL_S, abs=2 / rate)
    # ... and only the speech reached the ASR: leading and trailing silence were cut.
    [heard] = transcriber.clips
    assert heard.sample_rate == rate
    assert heard.duration_s == pytest.approx(SPEECH_S, abs=0.035)
    assert 0.25 < float(np.sqrt(np.mean(heard.samples ** 2))) < 0.3  # the tone, RMS ~0.28
    # The model got the transcript as the user's words.
    assert model.calls[0][0][-1].role == "user" and model.calls[0][0][-1].content == HEARD
    history = await agent.services.memory.history("a")
    assert [(t.role, t.text) for t in history] == [("user", HEARD), ("assistant", ANSWER)]


async def test_without_a_vad_the_whole_clip_goes_to_the_asr():
    agent, _, transcriber, _, _ = audio_agent(vad=False)
    reply = await agent.arespond(audio=utterance(16000), sample_rate=16000)
    assert reply.transcript == HEARD
    [heard] = transcriber.clips
    assert heard.duration_s == pytest.approx(LEAD_S + SPEECH_S + TAIL_S)
    assert "vad_end" not in reply.timings_ms and "asr" in reply.timings_ms


# --------------------------------------------------------------------------------- bad audio


async def test_silent_numpy_audio_raises_silent_audio_error_before_the_model():
    """Input tried: 1 s of digital silence (zeros) at 16 kHz; the VAD finds no speech."""
    agent, model, transcriber, _, decoder = audio_agent()
    with pytest.raises(SilentAudioError, match="no speech found in 1.00 s"):
        await agent.arespond(audio=np.zeros(16000, dtype=np.float32), sample_rate=16000)
    assert model.calls == [] and transcriber.clips == [] and decoder.texts == []


async def test_asr_that_hears_nothing_raises_silent_audio_error():
    """Input tried: a speech-like tone, but the ASR returns only whitespace."""
    model = ScriptedChatModel([ANSWER])
    agent = VoiceAgent(model, decoder=RecordingDecoder(), tokenizer=FixedTranscriber("  "),
                       vad=FixedVad(), tools=[])
    with pytest.raises(SilentAudioError, match="ASR heard no words"):
        await agent.arespond(audio=utterance(16000), sample_rate=16000)
    assert model.calls == []


async def test_empty_bytes_raise_empty_audio_error():
    """Input tried: audio=b"" (zero bytes)."""
    agent, model, transcriber, _, _ = audio_agent()
    with pytest.raises(EmptyAudioError):
        await agent.arespond(audio=b"")
    assert model.calls == [] and transcriber.clips == []


async def test_garbage_bytes_raise_corrupt_audio_error():
    """Input tried: 4 KiB of random binary bytes that are no audio format."""
    garbage = b"\x00\x01\x02\x03" + np.random.default_rng(7).bytes(4092)
    agent, model, transcriber, _, _ = audio_agent()
    with pytest.raises(CorruptAudioError):
        await agent.arespond(audio=garbage)
    assert model.calls == [] and transcriber.clips == []


async def test_nan_samples_raise_invalid_samples_error():
    """Input tried: a float32 numpy utterance with one NaN sample in it."""
    samples = utterance(16000)
    samples[100] = np.nan
    agent, model, transcriber, _, _ = audio_agent()
    with pytest.raises(InvalidSamplesError, match="NaN"):
        await agent.arespond(audio=samples, sample_rate=16000)
    assert model.calls == [] and transcriber.clips == []


async def test_ten_minutes_of_audio_raise_too_long_before_any_model_runs():
    """Input tried: 10 minutes of zeros at 16 kHz (600 s > the default max_audio_s=120)."""
    agent, model, transcriber, vad, decoder = audio_agent()
    with pytest.raises(AudioTooLongError, match="600.0 s"):
        await agent.arespond(audio=np.zeros(16000 * 600, dtype=np.float32), sample_rate=16000)
    assert model.calls == [] and transcriber.clips == [] and vad.clips == []
    assert decoder.texts == []


async def test_max_audio_s_is_the_agents_limit():
    """Input tried: 1 s of speech to an agent that allows only 0.5 s."""
    agent, model, *_ = audio_agent(max_audio_s=0.5)
    with pytest.raises(AudioTooLongError):
        await agent.arespond(audio=utterance(16000), sample_rate=16000)
    assert model.calls == []


@pytest.mark.parametrize("kwargs", [
    {"text": "hello", "audio": np.zeros(160, dtype=np.float32), "sample_rate": 16000},
    {},
], ids=["both-text-and-audio", "neither-text-nor-audio"])
async def test_text_and_audio_together_or_neither_is_a_type_error(kwargs):
    agent, model, *_ = audio_agent()
    with pytest.raises(TypeError, match="exactly one of text"):
        await agent.arespond(**kwargs)
    assert model.calls == []


async def test_audio_to_an_agent_without_a_tokenizer_is_an_empty_turn():
    """Input tried: good speech audio to an agent built without a speech tokenizer."""
    agent, model, *_ = audio_agent(tokenizer=False)
    with pytest.raises(EmptyTurnError, match="no speech tokenizer"):
        await agent.arespond(audio=utterance(16000), sample_rate=16000)
    assert model.calls == []


@pytest.mark.parametrize("text", ["", "   ", "\n\t "], ids=["empty", "spaces", "newline-tab"])
async def test_blank_text_is_an_empty_turn(text):
    """Input tried: text that is empty or only whitespace."""
    agent, model, *_ = audio_agent()
    with pytest.raises(EmptyTurnError):
        await agent.arespond(text, conversation_id="blank")
    assert model.calls == []
    assert await agent.services.memory.history("blank") == []


# --------------------------------------------------------------------------------- sync API


def test_respond_works_outside_an_event_loop_and_keeps_history_between_calls():
    model = ScriptedChatModel(["First answer.", "Second answer."])
    decoder = RecordingDecoder()
    agent = VoiceAgent(model, decoder=decoder, tools=[])

    first = agent.respond("Hello.", conversation_id="sync")
    second = agent.respond("And again.", conversation_id="sync")  # a second asyncio.run loop

    assert (first.text, second.text) == ("First answer.", "Second answer.")
    assert len(first.audio) > 0 and first.sample_rate == decoder.sample_rate
    assert [(m.role, m.content) for m in model.calls[1][0][1:]] == [
        ("user", "Hello."), ("assistant", "First answer."), ("user", "And again.")]


# --------------------------------------------------------------------------------- warm-up / say


class PrefillingModel(ScriptedChatModel):
    """A model that can prefill its fixed prompt prefix, like the llama.cpp backend."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.prefills: list[tuple[str, list[dict]]] = []

    async def prefill(self, system_prompt, tools=()):
        self.prefills.append((system_prompt, list(tools)))


async def test_warm_up_prefills_the_model_and_touches_tts_and_asr():
    model = PrefillingModel(["unused"])
    decoder = RecordingDecoder()
    transcriber = FixedTranscriber(HEARD)
    agent = VoiceAgent(model, decoder=decoder, tokenizer=transcriber, tools=[get_date_time])

    await agent.warm_up()

    assert model.prefills == [(agent.persona.full_system_prompt(),
                               [get_date_time.openai_schema()])]
    assert model.calls == []  # warm-up generates nothing
    assert decoder.texts == ["Hello."]
    [clip] = transcriber.clips
    assert clip.sample_rate == FixedTranscriber.sample_rate
    assert clip.duration_s == pytest.approx(0.5) and not clip.samples.any()
    # The prefilled prefix is the one real turns use.
    await agent.arespond("Hi.")
    system, schemas = model.prefills[0]
    assert model.calls[0][0][0].content == system and model.calls[0][1] == schemas


async def test_warm_up_without_prefill_or_speech_models_does_nothing_harmful():
    model = ScriptedChatModel(["unused"])
    agent = VoiceAgent(model, tools=[])
    await agent.warm_up()
    assert model.calls == []
    assert len(await agent.say("Hello.")) == 0 and agent.sample_rate == 0


async def test_say_returns_the_decoders_audio_without_a_turn():
    decoder = RecordingDecoder(sample_rate=24000)
    model = ScriptedChatModel(["unused"])
    agent = VoiceAgent(model, decoder=decoder, tools=[])
    audio = await agent.say("Welcome back.")
    assert len(audio) == decoder.samples_for("Welcome back.") and audio.dtype == np.float32
    assert decoder.texts == ["Welcome back."] and model.calls == []
    assert agent.sample_rate == 24000


# --------------------------------------------------------------------------------- timings


async def test_text_turn_timings_are_ordered_stages():
    model = ScriptedChatModel(["One. Two sentences here."], first_token_delay_s=0.01)
    agent = VoiceAgent(model, decoder=RecordingDecoder(delay_s=0.005), tools=[])
    reply = await agent.arespond("Go.")
    t = reply.timings_ms
    assert set(t) == {"llm_first_token", "first_sentence", "tts_first_audio", "done"}
    assert 0 < t["llm_first_token"] <= t["first_sentence"] <= t["tts_first_audio"] <= t["done"]
    assert t["llm_first_token"] >= 10 * 0.9  # the model's first-token delay is inside it
    assert t["tts_first_audio"] - t["first_sentence"] >= 5 * 0.9  # and the decoder's delay


async def test_audio_turn_timings_include_vad_and_asr_first():
    agent, *_ = audio_agent()
    reply = await agent.arespond(audio=utterance(16000), sample_rate=16000)
    t = reply.timings_ms
    assert {"vad_end", "asr", "llm_first_token", "first_sentence", "tts_first_audio",
            "done"} <= set(t)
    assert (0 < t["vad_end"] <= t["asr"] <= t["llm_first_token"] <= t["first_sentence"]
            <= t["tts_first_audio"] <= t["done"])


async def test_sentence_events_precede_their_audio():
    agent, *_ = audio_agent()
    events = await events_of(agent, "Hi.")
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "TranscriptEvent" and kinds[-1] == "TurnDoneEvent"
    for sentence_at in (i for i, e in enumerate(events) if isinstance(e, SentenceEvent)):
        index = events[sentence_at].index
        audio_at = next(i for i, e in enumerate(events)
                        if type(e).__name__ == "AudioChunkEvent" and e.sentence_index == index)
        assert sentence_at < audio_at


def test_for_persona_keeps_the_memory_options_and_shares_models_and_history(tmp_path):
    from agent.realtime.persona_agents import PersonaAgents
    from fakes import RecordingDecoder, ScriptedChatModel
    from personas import PersonaLibrary

    base = VoiceAgent(ScriptedChatModel(["Hi."]), decoder=RecordingDecoder(), tools=[],
                      history_token_budget=1500, audio_dir=tmp_path)
    pip = PersonaAgents(base, PersonaLibrary()).get("pip")
    assert pip.persona.name != base.persona.name
    assert pip.services.history_token_budget == 1500 and pip.services.folder is not None
    assert pip.services.audio_archive.root == tmp_path.resolve()
    assert pip.services.chat_model is base.services.chat_model
    assert pip.services.memory is base.services.memory
