"""End-to-end turns through the REAL offline stack: Silero VAD, Whisper base, Qwen2.5 0.5B on
llama.cpp and the Piper voice. No fakes: speech goes in as a WAV file, speech comes out, and
Whisper listens to the reply to check it says what the reply text says.

One stack (and one warmed agent) serves the whole module, so it costs one model load; the module
runs in well under a minute on 2 cores. The stack reads `STEPVOX_CACHE_DIR` itself for the folder
where the split model packages are joined.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio

from embedded_gate import EVAL_MODULES, require, require_embedded  # noqa: E402

require_embedded()
require(*EVAL_MODULES, extra="eval")

from agent.chat_model import ChatEvent, ChatMessage, ToolChoice  # noqa: E402
from agent.backends.llama_cpp.chatml_prompt import render_prompt  # noqa: E402
from agent.setup.embedded_stack import EmbeddedStack, load_embedded_stack  # noqa: E402
from agent.models.errors import ModelUnavailableError  # noqa: E402
from agent.turn.reply import Reply  # noqa: E402
from agent.voice_agent import VoiceAgent  # noqa: E402
from speech import AudioClip, SilentAudioError, load_audio, write_wav  # noqa: E402
from speech.scoring.word_error_rate import normalize_transcript, word_error_rate  # noqa: E402

pytestmark = [
    pytest.mark.embedded,
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.timeout(300),
]

MOON_QUESTION = "Tell me a fun fact about the moon."
TIME_QUESTION = "What time is it?"
GREETING = "Hi, how are you?"
JFK_TRANSCRIPT = ("And so my fellow Americans, ask not what your country can do for you, "
                  "ask what you can do for your country.")
# Piper speaks ~0.35 s per word; these bounds only catch truncated or runaway audio.
MIN_S_PER_WORD = 0.04
MAX_S_PER_WORD = 1.0


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def stack() -> EmbeddedStack:
    try:
        return load_embedded_stack(progress=False)
    except ModelUnavailableError as exc:  # the code is installed but a weights package is not
        pytest.skip(f"embedded model weights are not installed: {exc}")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def agent(stack: EmbeddedStack) -> VoiceAgent:
    voice_agent = VoiceAgent.from_stack(stack)
    await voice_agent.warm_up()
    return voice_agent


@pytest.fixture(scope="module")
def wav_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spoken_questions")


async def spoken_wav(agent: VoiceAgent, text: str, folder: Path) -> Path:
    """`text` in the agent's own voice, written as a 16-bit WAV file at the decoder's rate."""
    samples = await agent.say(text)
    assert samples.dtype == np.float32 and samples.size > 0
    path = folder / f"{uuid.uuid4().hex[:8]}.wav"
    write_wav(path, AudioClip(samples, agent.sample_rate))
    return path


async def hear(stack: EmbeddedStack, clip: AudioClip) -> str:
    """What the stack's ears make of a clip: Silero VAD trims it to the speech, Whisper
    transcribes that (the same path a spoken turn takes); "" when the VAD finds no speech."""
    segments = stack.vad.segments(clip)
    if not segments:
        return ""
    speech = clip.slice(segments[0].start_s, segments[-1].end_s)
    return (await stack.tokenizer.transcribe(speech)).text


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def moon_turn(agent: VoiceAgent, wav_dir: Path) -> Reply:
    """One spoken turn, shared by the tests that look at different sides of it."""
    path = await spoken_wav(agent, MOON_QUESTION, wav_dir)
    return await agent.arespond(audio=path)


def assert_spoken_reply(reply: Reply, decoder_rate: int) -> None:
    assert reply.text.strip(), "the reply has no text"
    assert isinstance(reply.audio, np.ndarray) and reply.audio.ndim == 1
    assert reply.audio.dtype == np.float32
    assert reply.sample_rate == decoder_rate
    words = len(normalize_transcript(reply.text).split())
    assert words > 0
    duration = reply.audio_duration_s
    assert MIN_S_PER_WORD * words <= duration <= MAX_S_PER_WORD * words + 2.0, (
        f"{duration:.2f} s of audio for {words} words: {reply.text!r}")


# --------------------------------------------------------------------------- spoken turns


async def test_wav_question_gets_a_spoken_reply_that_says_its_text(
        stack: EmbeddedStack, agent: VoiceAgent, moon_turn: Reply):
    reply = moon_turn
    assert word_error_rate(MOON_QUESTION, reply.transcript) <= 0.2, reply.transcript
    assert_spoken_reply(reply, stack.decoder.sample_rate)
    assert {"vad_end", "asr", "tts_first_audio", "done"} <= reply.timings_ms.keys()

    # Whisper listens to the reply: the audio must say what the text says.
    heard = await stack.tokenizer.transcribe(AudioClip(reply.audio, reply.sample_rate))
    wer = word_error_rate(reply.text, heard.text)
    print(f"\nmoon: transcript={reply.transcript!r} reply={reply.text!r} heard={heard.text!r} "
          f"round-trip WER={wer:.3f} audio={reply.audio_duration_s:.2f} s")
    assert wer <= 0.20, f"reply {reply.text!r} was heard as {heard.text!r}"


async def test_general_question_calls_no_tool(moon_turn: Reply):
    assert moon_turn.tool_results == []


async def test_time_question_dispatches_the_clock_and_says_the_hour(
        stack: EmbeddedStack, agent: VoiceAgent, wav_dir: Path):
    reply = await agent.arespond(audio=await spoken_wav(agent, TIME_QUESTION, wav_dir))
    assert word_error_rate(TIME_QUESTION, reply.transcript) <= 0.2, reply.transcript
    assert "get_date_time" in reply.tool_names
    result = next(r for r in reply.tool_results if r.name == "get_date_time")
    assert not result.is_error, result.content
    assert "llm_tool_call" in reply.timings_ms
    # The embedded backend announces the call before writing its arguments (ToolCallPending),
    # which is when a filler may start.
    assert reply.timings_ms["llm_call_decided"] <= reply.timings_ms["llm_tool_call"]

    hour24 = int(json.loads(result.content)["time"].split(":")[0])
    hour12 = normalize_transcript(str(hour24 % 12 or 12))
    said = normalize_transcript(reply.text)
    print(f"\ntime: tool={result.content} reply={reply.text!r}")
    assert re.search(rf"\b{hour12}\b", said), f"the reply does not say the hour {hour12!r}: {said!r}"
    assert_spoken_reply(reply, stack.decoder.sample_rate)


async def test_greeting_calls_no_tool(stack: EmbeddedStack, agent: VoiceAgent, wav_dir: Path):
    reply = await agent.arespond(audio=await spoken_wav(agent, GREETING, wav_dir))
    assert word_error_rate(GREETING, reply.transcript) <= 0.2, reply.transcript
    assert reply.text.strip()
    assert reply.tool_results == [], f"called {reply.tool_names}; replied {reply.text!r}"


class RecordingChatModel:
    """The real chat model, with every prompt it is given written down."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: list[tuple[list[ChatMessage], list[dict[str, Any]]]] = []

    def stream(self, messages: Sequence[ChatMessage], tools: Sequence[dict[str, Any]] = (), *,
               tool_choice: ToolChoice = "auto") -> AsyncIterator[ChatEvent]:
        self.calls.append(([m.model_copy(deep=True) for m in messages], list(tools)))
        return self.inner.stream(messages, tools, tool_choice=tool_choice)


async def test_second_turn_prompt_carries_the_first_turn(stack: EmbeddedStack):
    agent = VoiceAgent.from_stack(stack)
    recorder = RecordingChatModel(stack.chat_model)
    agent.services.chat_model = recorder
    cid = f"multi-{uuid.uuid4().hex[:8]}"

    first = await agent.arespond("My name is Alice.", conversation_id=cid, synthesize=False)
    calls_before_second = len(recorder.calls)
    second = await agent.arespond("What is my name?", conversation_id=cid, synthesize=False)

    history = await agent.services.memory.history(cid)
    assert [(t.role, t.text) for t in history] == [
        ("user", "My name is Alice."), ("assistant", first.text),
        ("user", "What is my name?"), ("assistant", second.text),
    ]
    assert [c.name for c in history[1].tool_calls] == first.tool_names

    messages, tools = recorder.calls[calls_before_second]  # the second turn's first prompt
    assert messages[0].role == "system"
    turns = [(m.role, m.content) for m in messages[1:]]
    assert turns[0] == ("user", "My name is Alice.")
    assert turns[-2:] == [("assistant", first.text), ("user", "What is my name?")]
    # A tool round in turn 1 is replayed between the two: the call, then its result.
    middle = messages[2:-2]
    assert [m.role for m in middle] == (["assistant"] + ["tool"] * len(first.tool_results)
                                        if first.tool_results else [])
    assert [m.content for m in middle[1:]] == [r.content for r in first.tool_results]
    prompt = render_prompt(messages, tools)
    assert prompt.index("My name is Alice.") < prompt.index(first.text) < prompt.index(
        "What is my name?")
    print(f"\nmulti-turn: first={first.text!r} ({first.tool_names}) second={second.text!r}")
    assert "alice" in normalize_transcript(second.text), second.text


# --------------------------------------------------------------------------- real human speech


@pytest.mark.shared
async def test_jfk_clip_is_transcribed(stack: EmbeddedStack, shared_file):
    clip = load_audio(shared_file("whisper/jfk.flac"))  # 44.1 kHz stereo 24-bit FLAC
    assert clip.sample_rate == 44_100 and clip.duration_s == pytest.approx(11.0, abs=0.1)
    heard = await hear(stack, clip)
    wer = word_error_rate(JFK_TRANSCRIPT, heard)
    print(f"\nJFK: heard={heard!r} WER={wer:.3f}")
    assert wer <= 0.15, heard


LIBRIVOX = [f"sense_and_sensibility_01_austen_64kb-{n}" for n in ("0870", "0880", "0890", "0920",
                                                                 "0930")]


@pytest.mark.shared
async def test_librivox_utterances_mean_wer(stack: EmbeddedStack, shared_file):
    """Five read sentences from Sense and Sensibility (16 kHz mono), `<name>.txt` transcripts."""
    rates = []
    for name in LIBRIVOX:
        reference = shared_file(f"pocketsphinx/{name}.txt").read_text().strip()
        heard = await hear(stack, load_audio(shared_file(f"pocketsphinx/{name}.wav")))
        rates.append(word_error_rate(reference, heard))
        print(f"\n{name}: WER={rates[-1]:.3f} ref={reference!r} heard={heard!r}", end="")
    mean = sum(rates) / len(rates)
    print(f"\nLibriVox mean WER={mean:.3f}")
    assert mean <= 0.25, rates


def _cards_transcripts(path: Path) -> dict[str, str]:
    """`<s> ten of clubs </s> (001)` lines -> {"001": "ten of clubs"}."""
    out = {}
    for line in path.read_text().splitlines():
        if match := re.fullmatch(r"\s*<s>(.*)</s>\s*\((\w+)\)\s*", line):
            out[match.group(2)] = match.group(1).strip()
    return out


@pytest.mark.shared
async def test_cards_utterances_mean_wer(stack: EmbeddedStack, shared_file):
    """The five short `00?.wav` "cards" utterances ("ten of clubs"); their transcripts are in
    `cards.transcription` (the `.txt` files belong to the LibriVox clips)."""
    references = _cards_transcripts(shared_file("pocketsphinx/cards.transcription"))
    assert sorted(references) == ["001", "002", "003", "004", "005"]
    rates = []
    for key, reference in sorted(references.items()):
        heard = await hear(stack, load_audio(shared_file(f"pocketsphinx/{key}.wav")))
        rates.append(word_error_rate(reference, heard))
        print(f"\n{key}: WER={rates[-1]:.3f} ref={reference!r} heard={heard!r}", end="")
    mean = sum(rates) / len(rates)
    print(f"\ncards mean WER={mean:.3f}")
    assert mean <= 0.25, rates


# --------------------------------------------------------------------------- no speech


async def test_silence_raises_silent_audio_error(agent: VoiceAgent):
    cid = f"silent-{uuid.uuid4().hex[:8]}"
    with pytest.raises(SilentAudioError, match="no speech found"):
        await agent.arespond(audio=np.zeros(32_000, dtype=np.float32), sample_rate=16_000,
                             conversation_id=cid)
    assert await agent.services.memory.history(cid) == []


@pytest.mark.shared
async def test_car_horn_is_silence_or_a_transcript(agent: VoiceAgent, shared_file):
    path = shared_file("tau2_noise/car_horn.wav")
    try:
        reply = await agent.arespond(audio=path, synthesize=False)
    except SilentAudioError as exc:
        print(f"\ncar horn: SilentAudioError: {exc}")
        return
    print(f"\ncar horn: transcript={reply.transcript!r} reply={reply.text!r}")
    assert reply.transcript.strip()
