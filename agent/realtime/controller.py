"""The turn-taking state machine of one realtime conversation (Step-Audio paper 3.4).

    Silence --speech--> UserSpeaking --short silence--> UserPaused --speech--> UserSpeaking
    UserSpeaking/UserPaused --end of turn--> BotReplying --reply played--> Silence
    BotReplying --user speech >= barge_in_min_s--> UserSpeaking   (barge-in: reply stopped)

Speech shorter than `barge_in_min_s` while the bot talks ("uh-huh", "yeah") is a backchannel
and leaves the reply alone. The controller knows nothing about websockets: it reports what
happens through `emit` with the dataclasses below, and the server turns them into JSON.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field

import numpy as np

from agent.errors import AgentError
from agent.events import AudioChunkEvent, TextDeltaEvent, TranscriptEvent, TurnDoneEvent, TurnEvent
from agent.realtime.audio_input import (
    SegmentEvent, SpeechPaused, SpeechResumed, SpeechStarted, TurnSegmenter, UtteranceEnded,
)
from agent.realtime.controller_events import (
    BackchannelIgnored, ControllerEvent, ConversationState, Emit, ReplyEvent, ReplyFinished,
    ReplyStarted, ReplyTruncated, StateChanged,
)
from agent.realtime.playback import PlaybackTracker
from agent.realtime.speculation import Speculation, commit_or_rerun
from agent.voice_agent import VoiceAgent
from memory import DialogueTurn
from speech.audio import AudioClip
from speech.errors import SpeechError

log = logging.getLogger("stepvox.realtime")

# The event types are re-exported: a consumer of the controller needs only this module.
__all__ = [
    "BackchannelIgnored", "ControllerEvent", "ConversationState", "RealtimeController",
    "ReplyEvent", "ReplyFinished", "ReplyStarted", "ReplyTruncated", "StateChanged",
]


@dataclass
class _Reply:
    response_id: str
    started_at: float
    task: asyncio.Task | None = None
    playback: PlaybackTracker = field(default_factory=PlaybackTracker)
    transcript: str = ""
    generated: bool = False  # TurnDone seen: the agent has stored the turn itself
    timings_ms: dict[str, float] = field(default_factory=dict)
    speculation: str = "none"


class RealtimeController:
    def __init__(self, agent: VoiceAgent, segmenter: TurnSegmenter, emit: Emit, *,
                 conversation_id: str | None = None, barge_in_min_s: float = 0.6,
                 min_utterance_s: float = 0.15, speculate: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.agent = agent
        self.segmenter = segmenter
        self.emit = emit
        self.conversation_id = conversation_id or uuid.uuid4().hex
        self.barge_in_min_s = barge_in_min_s
        self.min_utterance_s = min_utterance_s
        self.clock = clock
        self.state = ConversationState.SILENCE
        self.transitions: list[StateChanged] = []
        self.speculate = speculate
        self.speculation_stats = {"started": 0, "committed": 0, "discarded": 0}
        self._reply: _Reply | None = None
        self._speculation: Speculation | None = None

    async def _set_state(self, state: ConversationState, reason: str) -> None:
        if state == self.state:
            return
        change = StateChanged(self.state, state, reason)
        log.info("conversation %s: %s -> %s (%s)", self.conversation_id, change.previous,
                 state, reason)
        self.state = state
        self.transitions.append(change)
        await self.emit(change)

    # -- input -------------------------------------------------------------------------

    async def push_audio(self, samples_16k: np.ndarray) -> None:
        for event in self.segmenter.push(samples_16k):
            await self._on_segment(event)
        # Checked after every frame, not only at segment events: the interruption must land
        # as soon as the user has spoken long enough to not be a backchannel.
        if (self._reply is not None and self.state == ConversationState.BOT_REPLYING
                and self.segmenter.speech_s >= self.barge_in_min_s):
            await self.interrupt("barge_in")
            await self._set_state(ConversationState.USER_SPEAKING, "barge_in")

    async def commit(self) -> bool:
        """End the user's turn now (client-side turn detection). False: nothing to commit."""
        event = self.segmenter.commit()
        if event is None:
            return False
        await self._on_segment(event)
        return True

    async def respond_to_text(self, text: str) -> None:
        await self.interrupt("new_text_turn")
        self.segmenter.clear()
        await self._start_reply(text=text)

    async def _on_segment(self, event: SegmentEvent) -> None:
        await self.emit(event)
        S = ConversationState
        if isinstance(event, SpeechStarted):
            if self.state in (S.SILENCE, S.USER_PAUSED):
                await self._set_state(S.USER_SPEAKING, "speech_started")
        elif isinstance(event, SpeechPaused):
            if self.state == S.USER_SPEAKING:
                await self._set_state(S.USER_PAUSED, "pause")
                await self._speculate()
        elif isinstance(event, SpeechResumed):
            await self._discard_speculation()  # the user went on: those were not all the words
            if self.state == S.USER_PAUSED:
                await self._set_state(S.USER_SPEAKING, "speech_resumed")
        elif isinstance(event, UtteranceEnded):
            await self._on_utterance(event)

    async def _on_utterance(self, event: UtteranceEnded) -> None:
        S = ConversationState
        speculation, self._speculation = self._speculation, None
        if self.state == S.BOT_REPLYING and not event.forced:
            # Overlapping speech that never reached barge_in_min_s: a backchannel.
            await self.emit(BackchannelIgnored(event.speech_s))
            return
        if self.state == S.BOT_REPLYING:
            await self.interrupt("commit")  # the client says this was a real turn
        if event.speech_s < self.min_utterance_s:
            if speculation is not None:
                await self._discard(speculation)
            await self._set_state(S.SILENCE, "too_short")
            return
        wait_ms = max(0.0, (self.segmenter.now_s - event.end_s) * 1000)
        await self._start_reply(clip=event.clip, end_of_turn_wait_ms=wait_ms,
                                speculation=speculation)

    # -- speculation ---------------------------------------------------------------------

    async def _speculate(self) -> None:
        if not self.speculate or self._reply is not None or self.agent.services.tokenizer is None:
            return
        clip = self.segmenter.snapshot()
        if clip is None:
            return
        await self._discard_speculation()
        self._speculation = Speculation(self.agent, clip, self.conversation_id)
        self.speculation_stats["started"] += 1

    async def _discard_speculation(self) -> None:
        speculation, self._speculation = self._speculation, None
        if speculation is not None:
            await self._discard(speculation)

    async def _discard(self, speculation: Speculation) -> None:
        self.speculation_stats["discarded"] += 1
        await speculation.cancel()

    def _speculation_decided(self, reply: _Reply, speculation: Speculation,
                             committed: bool) -> None:
        reply.timings_ms["asr_final"] = self._ms(reply)
        reply.speculation = "committed" if committed else "rerun"
        self.speculation_stats["committed" if committed else "discarded"] += 1
        if committed:
            # How long the committed run had been going when a rerun would have started.
            reply.timings_ms["speculation_head_start"] = round(
                (time.monotonic() - speculation.started_at) * 1000, 1)

    # -- the reply ---------------------------------------------------------------------

    async def _start_reply(self, *, clip: AudioClip | None = None, text: str | None = None,
                           end_of_turn_wait_ms: float = 0.0,
                           speculation: Speculation | None = None) -> None:
        reply = _Reply(response_id=f"resp_{uuid.uuid4().hex[:16]}", started_at=self.clock())
        reply.playback.clock = self.clock
        reply.timings_ms["end_of_turn_wait"] = round(end_of_turn_wait_ms, 1)
        self._reply = reply
        await self._set_state(ConversationState.BOT_REPLYING, "end_of_turn")
        await self.emit(ReplyStarted(reply.response_id, "audio" if clip is not None else "text"))
        if speculation is not None and clip is not None:
            source = commit_or_rerun(
                self.agent, speculation, clip, self.conversation_id,
                lambda committed: self._speculation_decided(reply, speculation, committed))
        elif clip is not None:
            source = self.agent.stream(audio=clip, conversation_id=self.conversation_id)
        else:
            source = self.agent.stream(text, conversation_id=self.conversation_id)
        reply.task = asyncio.create_task(self._run_reply(reply, source))

    def _ms(self, reply: _Reply) -> float:
        return round((self.clock() - reply.started_at) * 1000, 1)

    async def _run_reply(self, reply: _Reply, stream: AsyncIterator[TurnEvent]) -> None:
        rid, final_text, agent_timings = reply.response_id, "", {}
        try:
            # aclosing: cancelling this task (barge-in) must close the agent's stream now,
            # which stops the model and releases the conversation lock.
            async with aclosing(stream) as events:
                async for event in events:
                    self._observe(reply, event)
                    if isinstance(event, TurnDoneEvent):
                        final_text, agent_timings = event.reply.text, event.reply.timings_ms
                    await self.emit(ReplyEvent(rid, event))
        except (AgentError, SpeechError) as exc:
            await self._finish_failed(reply, f"{type(exc).__name__}: {exc}")
            return
        except Exception as exc:  # a broken model must not take the session down
            log.exception("reply %s failed", rid)
            await self._finish_failed(reply, f"internal error: {type(exc).__name__}")
            return
        reply.timings_ms["done"] = self._ms(reply)
        timings = {**{f"agent.{k}": v for k, v in agent_timings.items()}, **reply.timings_ms}
        await self.emit(ReplyFinished(
            rid, "completed", transcript=reply.transcript, text=final_text,
            played_text="", audio_s=round(reply.playback.total_s, 3), timings_ms=timings,
            speculation=reply.speculation))
        # The bot is still talking until its audio has played out at the listener.
        await asyncio.sleep(reply.playback.remaining_s())
        if self._reply is reply:
            self._reply = None
            if self.state == ConversationState.BOT_REPLYING:
                await self._set_state(ConversationState.SILENCE, "reply_played")

    def _observe(self, reply: _Reply, event: TurnEvent) -> None:
        if isinstance(event, TranscriptEvent):
            reply.transcript = event.text
            reply.timings_ms.setdefault("transcript", self._ms(reply))
        elif isinstance(event, TextDeltaEvent):
            reply.timings_ms.setdefault("first_text", self._ms(reply))
        elif isinstance(event, AudioChunkEvent):
            reply.timings_ms.setdefault("first_audio_sent", self._ms(reply))
            reply.playback.add(event.sentence_index, event.chunk.text, event.chunk.duration_s)
        elif isinstance(event, TurnDoneEvent):
            reply.generated = True

    async def _finish_failed(self, reply: _Reply, error: str) -> None:
        await self.emit(ReplyFinished(reply.response_id, "failed", transcript=reply.transcript,
                                      timings_ms=reply.timings_ms, error=error))
        if self._reply is reply:
            self._reply = None
            await self._set_state(ConversationState.SILENCE, "reply_failed")

    async def cancel_reply(self) -> bool:
        """The client's `response.cancel`. False: no reply in progress."""
        if not await self.interrupt("client_cancel"):
            return False
        await self._set_state(ConversationState.SILENCE, "reply_cancelled")
        return True

    async def interrupt(self, reason: str) -> bool:
        """Stop the current reply (generation, pending tool calls and playback estimate) and
        report what the listener heard."""
        reply, self._reply = self._reply, None
        if reply is None or reply.task is None:
            return False
        reply.task.cancel()
        await asyncio.gather(reply.task, return_exceptions=True)
        played_s = reply.playback.played_s()
        played_text = reply.playback.played_text(played_s)
        log.info("reply %s interrupted (%s) after %.2f s played", reply.response_id, reason,
                 played_s)
        if reply.generated:
            await self.emit(ReplyTruncated(reply.response_id, played_text, round(played_s, 3)))
            return True
        # The agent's remember step never ran: keep the user's words and only the reply
        # words that were actually played, marked as interrupted -- unless the agent already
        # stored the cut turn itself when its stream was closed.
        if reply.transcript and not await self._agent_stored_cut_turn(reply.transcript):
            await self.agent.services.memory.append(self.conversation_id, [
                DialogueTurn(role="user", text=reply.transcript),
                DialogueTurn(role="assistant", text=played_text, interrupted=True,
                             audio_duration_s=round(played_s, 3)),
            ])
        reply.timings_ms["cancelled"] = self._ms(reply)
        await self.emit(ReplyFinished(
            reply.response_id, "cancelled", transcript=reply.transcript,
            played_text=played_text, played_s=round(played_s, 3),
            audio_s=round(reply.playback.total_s, 3), timings_ms=reply.timings_ms))
        return True

    async def _agent_stored_cut_turn(self, transcript: str) -> bool:
        last = await self.agent.services.memory.history(self.conversation_id, 2)
        return (len(last) == 2 and last[1].role == "assistant" and last[1].interrupted
                and last[0].text == transcript)

    async def close(self) -> None:
        await self._discard_speculation()
        reply, self._reply = self._reply, None
        if reply is not None and reply.task is not None:
            reply.task.cancel()
            await asyncio.gather(reply.task, return_exceptions=True)
