"""Deterministic fakes for the model seams: `ChatModel`, `SpeechDecoder`, `SpeechTokenizer`,
`VoiceActivityDetector`.

They stand in for real models in the tests and in `bench/` (overhead benchmarks), so they
do no work beyond what they are asked for: a zero delay means no `asyncio.sleep` at all.

    from fakes import ScriptedChatModel, RecordingDecoder, FixedTranscriber, FixedVad
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Union

import numpy as np

from agent.chat_model import (
    ChatEvent, ChatMessage, ModelDone, TextDelta, ToolCall, ToolCallEvent, ToolCallPending,
    TurnEndEstimate,
)
from speech.audio import AudioClip
from speech.protocols import AudioChunk, SpeechSegment, Transcription
from speech.style import Style

__all__ = [
    "FixedTranscriber", "FixedVad", "RecordingDecoder", "ScriptedChatModel", "ScriptedReply",
    "text_deltas",
]

_Static = Union[str, ToolCall, list]
ScriptedReply = Union[
    str, ToolCall, list, Callable[[list[ChatMessage], list[dict], str], _Static]
]

# A word with the whitespace after it (or leading whitespace alone), so "".join gives the text back.
_WORDS = re.compile(r"\s*\S+\s*|\s+")


def text_deltas(text: str) -> list[TextDelta]:
    """`text` as word-sized deltas whose concatenation is exactly `text`."""
    return [TextDelta(piece) for piece in _WORDS.findall(text)]


class ScriptedChatModel:
    """A `ChatModel` that plays back scripted replies, one per `stream()` call, in order.

    A reply is one of:
      * `str`: streamed as word-sized `TextDelta`s;
      * `ToolCall`: one `ToolCallEvent`;
      * `list` of `ChatEvent`s: yielded as given (a `ModelDone` is added unless the list
        already ends with one);
      * a callable `(messages, tools, tool_choice) -> any of the above`, for replies that
        depend on the prompt.
    Every stream ends with `ModelDone`. With `tool_choice="none"` a scripted tool call is a
    test bug and raises `AssertionError`, as does running out of replies when
    `repeat_last=False`.

    `calls` records `(messages, tools, tool_choice)` of every `stream()` call (deep copies,
    taken when `stream()` is called); `stopped_early` counts the streams the consumer
    closed (or cancelled) before receiving `ModelDone`.
    """

    name = "scripted"

    def __init__(
        self,
        replies: Sequence[ScriptedReply],
        *,
        token_delay_s: float = 0.0,
        first_token_delay_s: float = 0.0,
        repeat_last: bool = True,
    ) -> None:
        self.replies = list(replies)
        self.token_delay_s = token_delay_s
        self.first_token_delay_s = first_token_delay_s
        self.repeat_last = repeat_last
        self.calls: list[tuple[list[ChatMessage], list[dict], str]] = []
        self.stopped_early = 0
        self.completed = 0  # streams that delivered their ModelDone

    def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[dict[str, Any]] = (),
        *,
        tool_choice: str = "auto",
    ) -> AsyncIterator[ChatEvent]:
        # A plain method returning an async generator: the call is recorded and the reply
        # chosen at call time, in call order, even before the caller iterates.
        msgs = [m.model_copy(deep=True) for m in messages]
        tool_list = [dict(t) for t in tools]
        index = len(self.calls)
        self.calls.append((msgs, tool_list, tool_choice))
        events = self._events(self._reply_for(index), msgs, tool_list, tool_choice)
        return self._play(events)

    def _reply_for(self, index: int) -> ScriptedReply:
        if index < len(self.replies):
            return self.replies[index]
        if self.repeat_last and self.replies:
            return self.replies[-1]
        raise AssertionError(
            f"ScriptedChatModel ran out of replies: stream() call #{index + 1} but only "
            f"{len(self.replies)} scripted (repeat_last={self.repeat_last})"
        )

    @staticmethod
    def _events(reply: ScriptedReply, messages: list[ChatMessage], tools: list[dict],
                tool_choice: str) -> list[ChatEvent]:
        if callable(reply) and not isinstance(reply, (str, ToolCall, list)):
            reply = reply(messages, tools, tool_choice)
        if isinstance(reply, str):
            events: list[ChatEvent] = list(text_deltas(reply))
        elif isinstance(reply, ToolCall):
            events = [ToolCallEvent(reply)]
        elif isinstance(reply, list):
            events = list(reply)
            for event in events:
                if not isinstance(event, (TextDelta, TurnEndEstimate, ToolCallPending,
                                          ToolCallEvent, ModelDone)):
                    raise AssertionError(f"not a ChatEvent in a scripted reply: {event!r}")
        else:
            raise AssertionError(f"cannot script a reply of type {type(reply).__name__}")
        if tool_choice == "none" and any(isinstance(e, ToolCallEvent) for e in events):
            raise AssertionError(
                "test bug: a scripted tool call was played for a stream() call with "
                "tool_choice='none' (the model may not call tools then)"
            )
        if not events or not isinstance(events[-1], ModelDone):
            events.append(ModelDone())
        return events

    async def _play(self, events: list[ChatEvent]) -> AsyncIterator[ChatEvent]:
        reached_end = False
        try:
            for i, event in enumerate(events):
                delay = self.first_token_delay_s if i == 0 else self.token_delay_s
                if delay > 0:
                    await asyncio.sleep(delay)
                if isinstance(event, ModelDone):
                    reached_end = True
                yield event
        finally:
            if reached_end:
                self.completed += 1
            else:
                self.stopped_early += 1


class RecordingDecoder:
    """A `SpeechDecoder` that records every text (and, in `styles`, the style it came with, None
    when the caller gave none) and answers with one quiet 220 Hz sine chunk whose length is
    `seconds_per_char * len(text)` (at least one sample)."""

    def __init__(self, sample_rate: int = 16000, *, delay_s: float = 0.0,
                 seconds_per_char: float = 0.01) -> None:
        self.sample_rate = sample_rate
        self.delay_s = delay_s
        self.seconds_per_char = seconds_per_char
        self.texts: list[str] = []
        self.styles: list[Style | None] = []

    def samples_for(self, text: str) -> int:
        return max(1, round(self.seconds_per_char * len(text) * self.sample_rate))

    async def synthesize(self, text: str, style: Style | None = None) -> AsyncIterator[AudioChunk]:
        self.texts.append(text)
        self.styles.append(style)
        if self.delay_s > 0:
            await asyncio.sleep(self.delay_s)
        n = self.samples_for(text)
        t = np.arange(n, dtype=np.float32) / self.sample_rate
        samples = (0.1 * np.sin(2 * math.pi * 220.0 * t)).astype(np.float32)
        yield AudioChunk(samples=samples, sample_rate=self.sample_rate, text=text)


class FixedTranscriber:
    """A `SpeechTokenizer` that hears `text` in every clip and records the clips it got."""

    sample_rate = 16000

    def __init__(self, text: str) -> None:
        self.text = text
        self.clips: list[AudioClip] = []

    async def transcribe(self, clip: AudioClip) -> Transcription:
        self.clips.append(clip)
        return Transcription(text=self.text, language="en")


class FixedVad:
    """A `VoiceActivityDetector` that calls a 30 ms frame speech when its RMS is above
    `threshold_dbfs`; speech frames separated by at most `max_gap_ms` of quiet are merged
    into one segment. Works at the clip's own rate; silence gives `[]`."""

    sample_rate = 16000
    frame_s = 0.030

    def __init__(self, threshold_dbfs: float = -40.0, max_gap_ms: float = 300.0) -> None:
        self.threshold = 10 ** (threshold_dbfs / 20)
        self.max_gap_frames = int(round(max_gap_ms / 1000 / self.frame_s))
        self.clips: list[AudioClip] = []

    def segments(self, clip: AudioClip) -> list[SpeechSegment]:
        self.clips.append(clip)
        frame = max(1, int(round(self.frame_s * clip.sample_rate)))
        x = clip.samples.astype(np.float64)
        n = len(x) // frame + (1 if len(x) % frame else 0)
        if n == 0:
            return []
        padded = np.zeros(n * frame)
        padded[: len(x)] = x
        rms = np.sqrt(np.mean(padded.reshape(n, frame) ** 2, axis=1))
        loud = np.flatnonzero(rms > self.threshold)
        spans: list[list[int]] = []
        for i in loud:
            if spans and i - spans[-1][1] <= self.max_gap_frames:
                spans[-1][1] = i + 1
            else:
                spans.append([int(i), int(i) + 1])
        step = frame / clip.sample_rate
        return [SpeechSegment(a * step, min(b * step, clip.duration_s)) for a, b in spans]
