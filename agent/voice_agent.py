"""`VoiceAgent`: the Python API of stepvox. One object per agent; many conversations."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from agent.chat_model import ChatModel
from agent.events import (
    AudioChunkEvent, SentenceEvent, ToolResultEvent, TranscriptEvent, TurnDoneEvent, TurnEvent,
)
from agent.graph import build_turn_graph
from agent.history_prompt import tool_records
from agent.reply import Reply
from agent.turn_context import StageClock, TurnContext, TurnServices
from memory import DialogueStore, DialogueTurn, InMemoryDialogueStore
from personas import DEFAULT_PERSONA, Persona
from speech.audio import AudioClip, AudioSource, load_audio
from speech.protocols import SpeechDecoder, SpeechTokenizer, VoiceActivityDetector
from tools import Tool, ToolRegistry, builtin_tools

if TYPE_CHECKING:
    from agent.settings import StepvoxSettings


class VoiceAgent:
    """Answers spoken or written turns with speech.

    `respond()` runs a whole turn and returns a `Reply`; `stream()` yields the turn's events
    (transcript, text deltas, sentences, tool calls and results, audio chunks, done) as they
    happen, so a caller can start playback at the first audio chunk.
    """

    def __init__(
        self,
        chat_model: ChatModel,
        *,
        decoder: SpeechDecoder | None = None,
        tokenizer: SpeechTokenizer | None = None,
        vad: VoiceActivityDetector | None = None,
        memory: DialogueStore | None = None,
        tools: ToolRegistry | Sequence[Tool] | None = None,
        persona: Persona = DEFAULT_PERSONA,
        max_tool_rounds: int = 3,
        history_turns: int = 20,
        max_audio_s: float = 120.0,
        first_clause_words: int | None = 4,
    ) -> None:
        registry = tools if isinstance(tools, ToolRegistry) else ToolRegistry(
            builtin_tools() if tools is None else tools)
        if persona.allowed_tools is not None:
            # A persona names the tools it may use; the others never reach its prompt.
            registry = registry.subset(n for n in registry.names if n in persona.allowed_tools)
        self.services = TurnServices(
            chat_model=chat_model, decoder=decoder, tokenizer=tokenizer, vad=vad,
            memory=memory or InMemoryDialogueStore(), tools=registry, persona=persona,
            max_tool_rounds=max_tool_rounds, history_turns=history_turns,
            first_clause_words=first_clause_words,
        )
        self.max_audio_s = max_audio_s
        self._graph = build_turn_graph()
        # Turns of one conversation run one after another: each reads the history the
        # previous one wrote.
        self._locks: dict[str, asyncio.Lock] = {}

    @classmethod
    def embedded(cls, settings: StepvoxSettings | None = None, **kwargs) -> VoiceAgent:
        """The offline default: Silero VAD, Whisper, Qwen2.5 0.5B on llama.cpp, Piper."""
        from agent.embedded_stack import load_embedded_stack

        return load_embedded_stack(settings, **kwargs).agent()

    @property
    def persona(self) -> Persona:
        return self.services.persona

    @property
    def sample_rate(self) -> int:
        return self.services.decoder.sample_rate if self.services.decoder else 0

    async def stream(
        self,
        text: str | None = None,
        *,
        audio: AudioSource | None = None,
        sample_rate: int | None = None,
        conversation_id: str | None = None,
        synthesize: bool = True,
    ) -> AsyncIterator[TurnEvent]:
        if (text is None) == (audio is None):
            raise TypeError("pass exactly one of text=... or audio=...")
        clock = StageClock()  # the turn starts now: the user's speech has ended
        clip = None
        if audio is not None:
            clip = load_audio(audio, sample_rate, max_duration_s=self.max_audio_s)
        conversation_id = conversation_id or uuid.uuid4().hex
        ctx = TurnContext(services=self.services, conversation_id=conversation_id, audio=clip,
                          clock=clock, synthesize=synthesize)
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        transcript, chunks, results = "", [], []
        sentences: dict[int, str] = {}
        voiced: set[int] = set()  # sentences whose audio reached the caller
        async with lock:
            final: dict = {}
            try:
                # aclosing: a caller that stops listening (barge-in) stops the model before
                # the conversation lock is released, not whenever the GC gets to it.
                async with aclosing(self._graph.astream(
                    {"user_text": text or ""}, context=ctx, stream_mode=["custom", "values"]
                )) as events:
                    async for mode, item in events:
                        if mode == "values":
                            final = item
                            continue
                        if isinstance(item, TranscriptEvent):
                            transcript = item.text
                        elif isinstance(item, SentenceEvent):
                            sentences[item.index] = item.text
                        elif isinstance(item, AudioChunkEvent):
                            chunks.append(item.chunk)
                            voiced.add(item.sentence_index)
                        elif isinstance(item, ToolResultEvent):
                            results.append(item.result)
                        yield item
            finally:
                if transcript and not final.get("remembered"):
                    # The turn was cut short (barge-in, or a failure after the transcript): keep
                    # what the user said and only the words that were actually voiced.
                    spoken = " ".join(sentences[i] for i in sorted(voiced) if i in sentences)
                    await asyncio.shield(self.services.memory.append(conversation_id, [
                        DialogueTurn(role="user", text=transcript),
                        DialogueTurn(role="assistant", text=spoken, interrupted=True,
                                     tool_calls=tool_records(results)),
                    ]))
        clock.mark("done")
        rate = chunks[0].sample_rate if chunks else 0
        audio_out = (np.concatenate([c.samples for c in chunks]) if chunks
                     else np.zeros(0, dtype=np.float32))
        yield TurnDoneEvent(Reply(
            conversation_id=conversation_id, transcript=transcript,
            text=final.get("reply_text", ""), audio=audio_out, sample_rate=rate,
            tool_results=results, timings_ms=dict(clock.marks),
        ))

    async def arespond(self, text: str | None = None, **kwargs) -> Reply:
        reply = None
        async for event in self.stream(text, **kwargs):
            if isinstance(event, TurnDoneEvent):
                reply = event.reply
        assert reply is not None
        return reply

    def respond(self, text: str | None = None, **kwargs) -> Reply:
        """Blocking form of `arespond` for scripts; inside an event loop use `arespond`."""
        return asyncio.run(self.arespond(text, **kwargs))

    async def aclose(self) -> None:
        """Write what the history store still holds (a buffered store waiting for its database)
        and release its connections."""
        close = getattr(self.services.memory, "close", None)
        if close is not None:
            await close()

    async def warm_up(self) -> None:
        """Load lazily-initialised state before the first caller speaks: the model's prompt
        prefix (when the backend can prefill), one sentence of TTS and one ASR pass."""
        svc = self.services
        prefill = getattr(svc.chat_model, "prefill", None)
        if prefill is not None:
            await prefill(svc.persona.full_system_prompt(), svc.tools.openai_schemas())
        await self.say("Hello.")
        if svc.tokenizer is not None:
            silence = np.zeros(svc.tokenizer.sample_rate // 2, dtype=np.float32)
            await svc.tokenizer.transcribe(AudioClip(silence, svc.tokenizer.sample_rate))

    async def say(self, text: str) -> np.ndarray:
        """Synthesize text in the agent's voice without a turn (greetings, prompts)."""
        if self.services.decoder is None:
            return np.zeros(0, dtype=np.float32)
        parts = [c.samples async for c in self.services.decoder.synthesize(text)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


