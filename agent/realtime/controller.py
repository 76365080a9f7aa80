"""The turn-taking state machine of one realtime conversation (Step-Audio paper 3.4).

    Silence --speech--> UserSpeaking --short silence--> UserPaused --speech--> UserSpeaking
    UserSpeaking/UserPaused --end of turn--> BotReplying --reply played--> Silence
    BotReplying --user speech >= barge_in_min_s--> UserSpeaking   (barge-in: reply stopped)

Speech shorter than `barge_in_min_s` while the bot talks ("uh-huh", "yeah") is a backchannel
and leaves the reply alone. With `semantic_vad` the end of turn also listens to what was said
(`semantic_turns.py`). The controller knows nothing about websockets: it reports what
happens through `emit` with the dataclasses below, and the server turns them into JSON.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing

import numpy as np

from agent.errors import AgentError
from agent.events import TurnDoneEvent, TurnEvent
from agent.realtime.audio_input import (
    SegmentEvent, SpeechPaused, SpeechQuiet, SpeechResumed, SpeechStarted, TurnSegmenter,
    UtteranceEnded,
)
from agent.realtime.controller_events import (
    BackchannelIgnored, ControllerEvent, ConversationState, Emit, ReplyEvent, ReplyFinished,
    ReplyStarted, ReplyTruncated, SpeculationEvent, StateChanged, TurnEndPredicted,
)
from agent.realtime.turn_taking.early_asr import EarlyTranscription
from agent.realtime.played_history import PlayedHistoryStore
from agent.realtime.reply_state import ReplyState
from agent.realtime.turn_taking.semantic import SemanticTurnEnd
from agent.realtime.turn_taking.speculative import SpeculativeTurns
from agent.realtime.turn_taking.speculation import Speculation, commit_or_rerun
from agent.realtime.turn_taking.policy import TurnEndPolicy
from agent.voice_agent import VoiceAgent
from memory import DialogueTurn
from speech.audio import AudioClip
from speech.errors import SpeechError

log = logging.getLogger("stepvox.realtime")

# The event types are re-exported: a consumer of the controller needs only this module.
__all__ = [
    "BackchannelIgnored", "ControllerEvent", "ConversationState", "RealtimeController",
    "ReplyEvent", "ReplyFinished", "ReplyStarted", "ReplyTruncated", "SpeculationEvent",
    "StateChanged", "TurnEndPredicted",
]


class RealtimeController(SpeculativeTurns, SemanticTurnEnd):
    def __init__(self, agent: VoiceAgent, segmenter: TurnSegmenter, emit: Emit, *,
                 conversation_id: str | None = None, barge_in_min_s: float = 0.6,
                 min_utterance_s: float = 0.15, speculate: bool = False,
                 early_asr: bool = True, turn_end_policy: TurnEndPolicy | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`early_asr` (with `speculate`): a pause's ASR starts at its first silent window
        (`early_asr.py`). `turn_end_policy` (`semantic_vad`): a speculation's turn-end
        estimate sets the end-of-turn silence of the utterance it was started on (needs
        `speculate`)."""
        self.history: PlayedHistoryStore | None = None
        # Writes each reply ahead to the database while it plays (cluster/reply_journal.py).
        self.journal = None
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
        self.early_asr = early_asr
        self._init_semantic_turns(turn_end_policy)
        self.speculation_stats = {"started": 0, "committed": 0, "discarded": 0}
        self._reply: ReplyState | None = None
        self._last_reply: ReplyState | None = None  # the latest one stopped early
        self._speculation: Speculation | None = None
        self._early: EarlyTranscription | None = None  # the ASR of the quiet run so far

    @property
    def agent(self) -> VoiceAgent:
        return self._agent

    @agent.setter
    def agent(self, agent: VoiceAgent) -> None:
        # The session's turns go through `history`, which holds each reply until what was
        # played of it is known (`played_history.py`). Personas of one server share one
        # store; a store change takes effect once nothing is held.
        if self.history is None or (not self.history.held
                                    and self.history.base is not agent.services.memory):
            self.history = PlayedHistoryStore(agent.services.memory, self.journal)
        self.base_agent = agent
        # The same agent writing its history to `history` (one conversation per session).
        self._agent = agent.with_services(memory=self.history)

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
        for event in await self.segmenter.apush(samples_16k):
            await self._on_segment(event)
        if self._early is not None and self.segmenter.quiet_ms == 0:
            self._drop_early()  # the user went on before the pause: stop its ASR now
        if self._continues_early_turn(self._reply):  # semantic_vad ended it too soon
            await self._continue_turn(self._reply)
            return
        # Checked after every frame, not only at segment events: the interruption must land
        # as soon as the user has spoken long enough to not be a backchannel.
        if (self._reply is not None and self.state == ConversationState.BOT_REPLYING
                and self.segmenter.speech_s >= self.barge_in_min_s):
            await self.interrupt("barge_in")
            await self._set_state(ConversationState.USER_SPEAKING, "barge_in")
            self._in_background(self._anticipate())  # the model is free again

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
        if isinstance(event, SpeechQuiet):  # a hint for the pause's ASR; no protocol event
            self._transcribe_early()
            return
        await self.emit(event)
        S = ConversationState
        if isinstance(event, UtteranceEnded):
            # Ended without a pause (commit, semantic_vad): no frame may follow to drop it.
            self._drop_early()
        if isinstance(event, SpeechStarted):
            if self.state in (S.SILENCE, S.USER_PAUSED):
                await self._set_state(S.USER_SPEAKING, "speech_started")
            if self._reply is None:  # the model is idle while the user talks: prepare it
                # Again after a played-out reply: another session on the same model may
                # have used its cache since (a no-op for the model when it has not).
                self._in_background(self._anticipate())
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
                await self._discard(speculation, "too_short")
            await self._set_state(S.SILENCE, "too_short")
            return
        wait_ms = max(0.0, (self.segmenter.now_s - event.end_s) * 1000)
        await self._start_reply(clip=event.clip, end_of_turn_wait_ms=wait_ms,
                                speculation=speculation)
        if event.early and self._reply is not None:
            self._reply.early_clip, self._reply.early_speech_s = event.clip, event.speech_s

    async def _anticipate(self) -> None:
        try:
            await self.agent.anticipate(self.conversation_id)
        except Exception:  # a head start only: the turn itself reports any real failure
            log.warning("conversation %s: anticipating the turn failed", self.conversation_id,
                        exc_info=True)

    # -- the reply ---------------------------------------------------------------------

    async def _start_reply(self, *, clip: AudioClip | None = None, text: str | None = None,
                           end_of_turn_wait_ms: float = 0.0,
                           speculation: Speculation | None = None) -> None:
        reply = ReplyState(response_id=f"resp_{uuid.uuid4().hex[:16]}",
                           started_at=self.clock(), clock=self.clock)
        reply.playback.clock = self.clock
        reply.turn_ended_at = time.monotonic()  # the speculation's clock, not `self.clock`
        reply.timings_ms["end_of_turn_wait"] = round(end_of_turn_wait_ms, 1)
        self._reply = reply
        await self.history.begin(reply.response_id)  # the previous reply is final now
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

    async def _run_reply(self, reply: ReplyState, stream: AsyncIterator[TurnEvent]) -> None:
        rid, final_text, agent_timings = reply.response_id, "", {}
        try:
            # aclosing: cancelling this task (barge-in) must close the agent's stream now,
            # which stops the model and releases the conversation lock.
            async with aclosing(stream) as events:
                async for event in events:
                    reply.observe(event)
                    if isinstance(event, TurnDoneEvent):
                        final_text, agent_timings = event.reply.text, event.reply.timings_ms
                    if self.journal is not None:  # in the database before it is sent
                        await self.journal.observe(self.conversation_id, rid, event)
                    await self.emit(ReplyEvent(rid, event))
        except (AgentError, SpeechError) as exc:
            await self._finish_failed(reply, f"{type(exc).__name__}: {exc}")
            return
        except Exception as exc:  # a broken model must not take the session down
            log.exception("reply %s failed", rid)
            await self._finish_failed(reply, f"internal error: {type(exc).__name__}")
            return
        reply.timings_ms["done"] = reply.ms()
        timings = {**{f"agent.{k}": v for k, v in agent_timings.items()}, **reply.timings_ms}
        finished = ReplyFinished(
            rid, "completed", transcript=reply.transcript, text=final_text,
            played_text="", audio_s=round(reply.playback.total_s, 3), timings_ms=timings,
            speculation=reply.speculation, stages_ms=reply.stage_times(),
            speculation_saved_ms=reply.speculation_saved_ms())
        self._log_stages(finished)
        reply.done_sent = True
        await self.emit(finished)
        # The bot is still talking until its audio has played out at the listener.
        await asyncio.sleep(reply.playback.remaining_s())
        if self._reply is reply:
            self._reply = None
            await self.history.flush()  # played out: the reply stands as generated
            if self.state == ConversationState.BOT_REPLYING:
                await self._set_state(ConversationState.SILENCE, "reply_played")
            # History is final now: the model can prepare the next turn before it starts.
            self._in_background(self._anticipate())

    def _log_stages(self, finished: ReplyFinished) -> None:
        # One JSON object per turn, for log shippers; the same figures go to the client in
        # `response.done` and to `/metrics`.
        log.info("turn stages %s", json.dumps({
            "conversation_id": self.conversation_id, "response_id": finished.response_id,
            "status": finished.status, "speculation": finished.speculation,
            "speculation_saved_ms": finished.speculation_saved_ms,
            "stages_ms": finished.stages_ms}))

    async def _finish_failed(self, reply: ReplyState, error: str) -> None:
        finished = ReplyFinished(reply.response_id, "failed", transcript=reply.transcript,
                                 timings_ms=reply.timings_ms, error=error,
                                 stages_ms=reply.stage_times())
        self._log_stages(finished)
        reply.done_sent = True
        await self.emit(finished)
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
        """Stop the current reply (generation, pending tool calls and playback estimate),
        keep only the words played in history and report them."""
        return await self._stop_reply(reason) is not None

    async def _stop_reply(self, reason: str, played_s: float | None = None,
                          by_client: bool = False, content_index: int = 0,
                          keep_history: bool = True) -> ReplyState | None:
        reply, self._reply = self._reply, None
        if reply is None or reply.task is None:
            return None
        reply.task.cancel()
        await asyncio.gather(reply.task, return_exceptions=True)
        played_s = reply.playback.played_s() if played_s is None else min(
            played_s, reply.playback.total_s)
        played_text = reply.playback.played_text(played_s)
        log.info("reply %s interrupted (%s) after %.2f s played", reply.response_id, reason,
                 played_s)
        if keep_history:
            await self._keep_played(reply, played_text, played_s)
            self._last_reply = reply
        else:
            self.history.withdraw(reply.response_id)
            if self.journal is not None:
                await self.journal.withdraw(reply.response_id)
        if reply.generated or by_client:
            await self.emit(ReplyTruncated(reply.response_id, played_text, round(played_s, 3),
                                           by_client=by_client, content_index=content_index))
        # Cut after TurnDone but before its ReplyFinished went out: the client still gets one.
        if not reply.done_sent:
            reply.timings_ms["cancelled"] = reply.ms()
            finished = ReplyFinished(
                reply.response_id, "cancelled", transcript=reply.transcript,
                played_text=played_text, played_s=round(played_s, 3),
                audio_s=round(reply.playback.total_s, 3), timings_ms=reply.timings_ms,
                speculation=reply.speculation, stages_ms=reply.stage_times())
            self._log_stages(finished)
            await self.emit(finished)
        return reply

    async def _keep_played(self, reply: ReplyState, played_text: str, played_s: float) -> None:
        if self.history.settle_played(reply.response_id, played_text, played_s):
            return
        # The agent's remember step never ran (cut before its transcript reached it, or a
        # speculation never committed): keep the user's words and the words played.
        if reply.transcript:
            await self.history.append(self.conversation_id, [
                DialogueTurn(role="user", text=reply.transcript),
                DialogueTurn(role="assistant", text=played_text, interrupted=True,
                             audio_duration_s=round(played_s, 3)),
            ])

    async def truncate(self, response_id: str, audio_end_ms: int, content_index: int = 0) -> bool:
        """The client's `conversation.item.truncate`: its playback of `response_id` stopped
        after `audio_end_ms`. A reply still in progress is stopped there; an interrupted one
        is corrected to the client's position. False: that reply is no longer held (only
        the latest reply can be truncated, until the next one starts)."""
        played_s = audio_end_ms / 1000
        if self._reply is not None and self._reply.response_id == response_id:
            await self._stop_reply("client_truncate", played_s, by_client=True,
                                   content_index=content_index)
            await self._set_state(ConversationState.SILENCE, "reply_truncated")
            await self.history.flush()  # the client's word on what was played is final
            return True
        last = self._last_reply
        if last is None or last.response_id != response_id or not self.history.holds(
                response_id):
            return False
        played_s = min(played_s, last.playback.total_s)
        played_text = last.playback.played_text(played_s)
        self.history.settle_played(response_id, played_text, played_s)
        await self.history.flush()
        await self.emit(ReplyTruncated(response_id, played_text, round(played_s, 3),
                                       by_client=True, content_index=content_index))
        return True

    async def close(self) -> None:
        self._cancel_background()
        self._drop_early()
        await self._discard_speculation("closed")
        reply, self._reply = self._reply, None
        if reply is not None and reply.task is not None:
            reply.task.cancel()
            await asyncio.gather(reply.task, return_exceptions=True)
            # The client left mid-reply: keep what it had heard by then.
            played_s = reply.playback.played_s()
            await self._keep_played(reply, reply.playback.played_text(played_s), played_s)
        await self.history.flush()
