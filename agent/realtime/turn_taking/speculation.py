"""Speculative replies during the user's pauses (Step-Audio paper 3.4).

When the user pauses, the words so far are transcribed and a whole reply is run on them,
with its events held back. If the user goes on, the run is thrown away. When the turn ends,
the final transcript decides: the same words -> the held reply is committed and streamed
(it has a head start of the pause-to-end-of-turn wait); other words -> it is discarded and
the turn is rerun on the final transcript.

A speculation must leave no trace until it is committed:
- history: it writes to an `OverlayDialogueStore`, flushed to the real store on commit only;
- tools: a call to a tool not marked `safe_to_repeat` is held: it starts only once the
  speculation is committed, and never if it is discarded. Safe tools run right away.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import Any

import numpy as np

from agent.events import AudioChunkEvent, TurnDoneEvent, TurnEndEstimateEvent, TurnEvent
from agent.voice_agent import VoiceAgent
from memory import DialogueStore, DialogueTurn
from speech.audio import AudioClip
from speech.errors import SilentAudioError
from speech.protocols import Transcription
from tools import ToolRegistry

_END = object()
# The most trailing quiet a final clip may have beyond the paused one and still be "the same
# audio" (the segmenter's tail is 100 ms by default).
_QUIET_TAIL_S = 0.3
_WORD = re.compile(r"[\w']+")


def quiet_after(earlier: AudioClip, later: AudioClip) -> bool:
    """Whether `later` is `earlier` plus at most `_QUIET_TAIL_S` more audio. Used on clips
    of one utterance, where any word after `earlier` would have ended the quiet run they
    belong to: so the extra audio is quiet, and both clips hold the same words."""
    ours, theirs = earlier.samples, later.samples
    extra = len(theirs) - len(ours)
    return (later.sample_rate == earlier.sample_rate
            and 0 <= extra <= _QUIET_TAIL_S * later.sample_rate
            and np.array_equal(theirs[:len(ours)], ours))


def same_words(a: str, b: str) -> bool:
    """Transcripts equal up to case and punctuation ("What time is it?" == "what time is it")."""
    return _WORD.findall(a.lower()) == _WORD.findall(b.lower())


class OverlayDialogueStore:
    """Reads the real history plus this run's own turns; writes stay here until `flush`."""

    def __init__(self, base: DialogueStore) -> None:
        self.base = base
        self.pending: dict[str, list[DialogueTurn]] = {}

    async def append(self, conversation_id: str, turns: Sequence[DialogueTurn]) -> None:
        self.pending.setdefault(conversation_id, []).extend(turns)

    async def history(self, conversation_id: str, limit: int | None = None) -> list[DialogueTurn]:
        turns = [*await self.base.history(conversation_id, limit),
                 *self.pending.get(conversation_id, [])]
        return turns[-limit:] if limit else turns

    async def flush(self) -> None:
        for conversation_id, turns in self.pending.items():
            await self.base.append(conversation_id, turns)
        self.pending.clear()

    def __getattr__(self, name: str) -> Any:  # anything else a store offers: the real one
        return getattr(self.base, name)


class _HeldTool:
    """Stands in for a tool with side effects: the call waits until the speculation is
    committed (then it runs, once, as in a real turn) or cancelled (then it never ran)."""

    def __init__(self, tool, committed: asyncio.Event, on_call) -> None:
        self.name = tool.name
        self._tool = tool
        self._committed = committed
        self._on_call = on_call

    async def invoke(self, arguments: Any = None, *, call_id: str | None = None):
        self._on_call(self.name)
        await self._committed.wait()
        return await self._tool.invoke(arguments, call_id=call_id)

    def __getattr__(self, name: str) -> Any:  # schema, flags, filler: the real tool's
        return getattr(self._tool, name)


class GuardedRegistry(ToolRegistry):
    """The same tools and schemas (so the model behaves as in a real turn), but calls to
    tools that are not safe to repeat are held until the speculation is committed."""

    def __init__(self, base: ToolRegistry, committed: asyncio.Event, on_unsafe) -> None:
        super().__init__(list(base))
        self._committed = committed
        self._on_unsafe = on_unsafe

    def get(self, name: str):
        tool = super().get(name)
        return tool if tool.safe_to_repeat else _HeldTool(tool, self._committed, self._on_unsafe)

    async def invoke(self, name: str, arguments: Any = None, *, call_id: str | None = None):
        # Both ways a turn may run a tool (`get(name).invoke` or `invoke(name)`) are held.
        if name in self:
            return await self.get(name).invoke(arguments, call_id=call_id)
        return await super().invoke(name, arguments, call_id=call_id)


class Speculation:
    def __init__(self, agent: VoiceAgent, clip: AudioClip, conversation_id: str, *,
                 on_turn_end: Callable[[Speculation, float], None] | None = None,
                 transcription: Awaitable[Transcription] | None = None) -> None:
        """`transcription`: the ASR of `clip`, already under way (`early_asr.py`); without
        it the speculation transcribes `clip` itself."""
        self.clip = clip
        # Told the model's turn-end estimate as soon as it is read (`semantic_vad`).
        self.on_turn_end = on_turn_end
        self.memory = OverlayDialogueStore(agent.services.memory)
        self.held_tool: str | None = None  # an unsafe call waiting for the commit
        self._committed = asyncio.Event()
        self.started_at = time.monotonic()
        self.first_audio_at: float | None = None  # when its first audio chunk was ready
        self.transcript: str | None = None
        self.asr_ms: float | None = None  # from the start to its transcript
        self.transcribed = asyncio.Event()
        self.queue: asyncio.Queue = asyncio.Queue()
        self._agent = _speculative_agent(agent, self.memory, self._committed, self._hold)
        self._task = asyncio.create_task(self._run(clip, conversation_id, transcription))

    def _hold(self, name: str) -> None:
        self.held_tool = name

    async def _run(self, clip: AudioClip, conversation_id: str,
                   transcription: Awaitable[Transcription] | None) -> None:
        try:
            tokenizer = self._agent.services.tokenizer
            if transcription is None:
                if tokenizer is None:
                    return
                transcription = tokenizer.transcribe(clip)
            self.transcript = (await transcription).text.strip()
            self.asr_ms = round((time.monotonic() - self.started_at) * 1000, 1)
            self.transcribed.set()
            if not self.transcript:
                return
            async with aclosing(self._agent.stream(self.transcript,
                                                   conversation_id=conversation_id)) as events:
                async for event in events:
                    if self.first_audio_at is None and isinstance(event, AudioChunkEvent):
                        self.first_audio_at = time.monotonic()
                    elif isinstance(event, TurnEndEstimateEvent) and self.on_turn_end:
                        self.on_turn_end(self, event.probability)
                    await self.queue.put(event)
            await self.queue.put(_END)
        except Exception as exc:  # reported when (if) the speculation is committed
            await self.queue.put(exc)
        finally:
            self.transcribed.set()

    def heard_same_audio(self, clip: AudioClip) -> bool:
        """Whether `clip` is this speculation's audio, or that audio and a little of the
        quiet after it: the segmenter keeps up to `tail_ms` of silence, so with a pause
        shorter than that the final clip has a window or two more than the paused one,
        and nothing voiced (which would have discarded the speculation)."""
        return quiet_after(self.clip, clip)

    def usable_for(self, final_transcript: str) -> bool:
        return self.transcript is not None and same_words(self.transcript, final_transcript)

    async def events(self) -> AsyncIterator[TurnEvent]:
        """Commit: the held events, then the rest live; held tool calls run now."""
        self._committed.set()
        while (item := await self.queue.get()) is not _END:
            if isinstance(item, Exception):
                raise item
            if isinstance(item, TurnDoneEvent):
                # Before the consumer sees the turn as done: a barge-in from here on must
                # find the turn in the real history, as after an ordinary turn.
                await self.memory.flush()
                archive = self._agent.services.audio_archive
                if isinstance(archive, HeldAudioArchive):
                    await archive.flush()
            yield item

    async def cancel(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def commit_or_rerun(agent: VoiceAgent, speculation: Speculation, clip: AudioClip,
                          conversation_id: str, decided) -> AsyncIterator[TurnEvent]:
    """The turn's events at its end: the speculation's if the final transcript has the same
    words, else a rerun on the final transcript (text: the ASR is not run twice on the same
    audio). `decided(committed)` (a function or a coroutine function) is told which, before
    the first event."""
    try:
        if speculation.heard_same_audio(clip):
            # No word since the pause (the segmenter drops the trailing silence): the
            # speculation's transcript is this clip's, and a second ASR pass would only
            # compete with the speculation for the CPU.
            await speculation.transcribed.wait()
            final = speculation.transcript or ""
        else:
            final = (await agent.services.tokenizer.transcribe(clip)).text.strip()
            await speculation.transcribed.wait()
        committed = speculation.usable_for(final)
        told = decided(committed)
        if inspect.isawaitable(told):
            await told
        if committed:
            async for event in speculation.events():
                yield event
            return
        await speculation.cancel()
        if not final:
            raise SilentAudioError(f"the ASR heard no words in {clip.duration_s:.2f} s of speech")
        async with aclosing(agent.stream(final, conversation_id=conversation_id)) as events:
            async for event in events:
                yield event
    finally:
        await speculation.cancel()  # a no-op once it finished; stops it on barge-in or close


def _speculative_agent(agent: VoiceAgent, memory: OverlayDialogueStore,
                       committed: asyncio.Event, on_unsafe) -> VoiceAgent:
    archive = agent.services.audio_archive
    return agent.with_services(
        memory=memory, vad=None,
        tools=GuardedRegistry(agent.services.tools, committed, on_unsafe),
        audio_archive=HeldAudioArchive(archive) if archive is not None else None)


class HeldAudioArchive:
    """The turn-audio archive of a speculation: files are kept in memory and written only
    when the speculation is committed (with its history), so a discarded run leaves no
    files that no stored turn points to."""

    def __init__(self, base) -> None:
        self.base = base
        self.held: list[tuple[str, np.ndarray, int]] = []

    def paths(self, conversation_id: str) -> dict[str, str]:
        return self.base.paths(conversation_id)

    async def write(self, path: str, samples: np.ndarray, sample_rate: int) -> bool:
        self.held.append((path, samples, sample_rate))
        return True

    async def flush(self) -> None:
        held, self.held = self.held, []
        for path, samples, rate in held:
            await self.base.write(path, samples, rate)
