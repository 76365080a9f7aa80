"""The controller's speculation part (Step-Audio paper 3.4): on a pause, a whole reply is run
on the words so far and held back; more speech discards it, the end of the turn commits or
reruns it (`speculation.py`). The ASR of the pause may already be under way, started at the
first silent window (`early_asr.py`).
"""

from __future__ import annotations

from agent.realtime.controller_events import SpeculationEvent
from agent.realtime.turn_taking.early_asr import EarlyTranscription
from agent.realtime.reply_state import ReplyState
from agent.realtime.turn_taking.speculation import Speculation


class SpeculativeTurns:
    """Mixed into `RealtimeController`, whose agent, segmenter and replies it uses."""

    speculate: bool
    early_asr: bool
    speculation_stats: dict[str, int]
    _speculation: Speculation | None
    _early: EarlyTranscription | None

    def _may_speculate(self) -> bool:
        return (self.speculate and self._reply is None
                and self.agent.services.tokenizer is not None)

    def _transcribe_early(self) -> None:
        self._drop_early()
        if (self.early_asr and self._may_speculate()
                and (clip := self.segmenter.snapshot()) is not None):
            self._early = EarlyTranscription(self.agent.services.tokenizer, clip)

    def _drop_early(self) -> None:
        early, self._early = self._early, None
        if early is not None:
            early.drop()

    async def _speculate(self) -> None:
        early, self._early = self._early, None
        clip = self.segmenter.snapshot() if self._may_speculate() else None
        transcription = None
        if early is not None and clip is not None and early.covers(clip, self.segmenter.silent):
            clip, transcription = early.clip, early.task
        elif early is not None:
            early.drop()
        if clip is None:
            return
        await self._discard_speculation()
        self._speculation = Speculation(self.agent, clip, self.conversation_id,
                                        on_turn_end=self._turn_end_callback(),
                                        transcription=transcription)
        await self._count_speculation("started", "pause")

    async def _count_speculation(self, outcome: str, reason: str) -> None:
        self.speculation_stats[outcome] += 1
        await self.emit(SpeculationEvent(outcome, reason))  # type: ignore[arg-type]

    async def _discard_speculation(self, reason: str = "speech_resumed") -> None:
        speculation, self._speculation = self._speculation, None
        if speculation is not None:
            await self._discard(speculation, reason)

    async def _discard(self, speculation: Speculation, reason: str) -> None:
        await self._count_speculation("discarded", reason)
        await speculation.cancel()

    async def _speculation_decided(self, reply: ReplyState, speculation: Speculation,
                                   committed: bool) -> None:
        reply.timings_ms["asr_final"] = reply.ms()
        reply.speculation = "committed" if committed else "rerun"
        reply.speculation_run = speculation
        await self._count_speculation("committed" if committed else "discarded",
                                      "same_words" if committed else "other_words")
        if committed:
            # How long the committed run had been going when a rerun would have started:
            # at the end of the turn, not now (the decision waits for its transcript).
            reply.timings_ms["speculation_head_start"] = round(
                (reply.turn_ended_at - speculation.started_at) * 1000, 1)
            if speculation.asr_ms is not None:
                reply.timings_ms["speculation_asr"] = speculation.asr_ms
