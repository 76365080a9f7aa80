"""The controller's `semantic_vad` part: a speculation's turn-end estimate sets the end of
the utterance it was started on, and speech right after an early end continues that turn.

Ending a turn after 300 ms of silence because the words look finished is a bet: "what time
is it ... in Tokyo" loses it. When the user goes on before much of the reply has played,
the reply is withdrawn (from history too) and the earlier words lead the new utterance, so
the turn is answered once, as a whole; later speech is a barge-in or a backchannel as usual.
"""

from __future__ import annotations

import asyncio
import logging

from agent.realtime.controller_events import ConversationState, TurnEndPredicted
from agent.realtime.reply_state import ReplyState
from agent.realtime.turn_taking.speculation import Speculation
from agent.realtime.turn_taking.policy import TurnEndPolicy

log = logging.getLogger("stepvox.realtime")


class SemanticTurnEnd:
    """Mixed into `RealtimeController`, whose state, segmenter and replies it uses."""

    turn_end_policy: TurnEndPolicy | None
    # The user goes on after an early end (>= continue_min_s of speech before
    # continue_played_s of the reply has played): the turn continues.
    continue_min_s: float = 0.1
    continue_played_s: float = 0.5

    def _init_semantic_turns(self, policy: TurnEndPolicy | None) -> None:
        self.turn_end_policy = policy
        self._background: set[asyncio.Task] = set()

    def _turn_end_callback(self):
        """What a new speculation calls with itself and its estimate (None: no policy)."""
        if self.turn_end_policy is None:
            return None
        return lambda speculation, p: self._in_background(
            self._turn_end_estimated(speculation, p))

    def _in_background(self, coro) -> None:
        # Not awaited inside the speculation's task: ending the turn from there would make
        # the speculation wait on its own commit.
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _cancel_background(self) -> None:
        for task in list(self._background):
            task.cancel()

    async def _turn_end_estimated(self, speculation: Speculation, probability: float) -> None:
        """The words of the pause look finished (end soon), cut off (wait longer) or
        neither (the configured silence)."""
        policy = self.turn_end_policy
        if (policy is None or speculation is not self._speculation
                or self.state != ConversationState.USER_PAUSED):
            return  # the user went on, or the turn already ended
        verdict = policy.verdict(probability, speculation.transcript or "")
        ms = policy.wait_ms(verdict)
        ended = self.segmenter.set_end_of_turn_ms(ms)
        log.info("conversation %s: turn-end estimate %.3f -> end of turn after %d ms",
                 self.conversation_id, probability, ms)
        await self.emit(TurnEndPredicted(round(probability, 4), verdict, ms))
        if ended is not None:
            await self._on_segment(ended)

    def _continues_early_turn(self, reply: ReplyState | None) -> bool:
        return (reply is not None and reply.early_clip is not None
                and self.state == ConversationState.BOT_REPLYING
                and self.segmenter.speech_s >= self.continue_min_s
                and reply.playback.played_s() < self.continue_played_s)

    async def _continue_turn(self, reply: ReplyState) -> None:
        """The reply is dropped from history (the turn is asked again as a whole) and the
        earlier words lead the utterance in progress."""
        await self._stop_reply("turn_continued", keep_history=False)
        self.segmenter.prepend(reply.early_clip, reply.early_speech_s)
        await self._set_state(ConversationState.USER_SPEAKING, "turn_continued")
