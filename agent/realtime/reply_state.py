"""What the controller tracks about one reply: its playback, its stage times, its speculation.

Stage times (`stage_times`) are milliseconds from the end of the user's speech, the moment
the listener starts waiting: the turn's own clock starts later, when the end of the turn has
been detected, so the end-of-turn wait is added to each of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from agent.events import (
    AudioChunkEvent, SentenceEvent, TextDeltaEvent, TranscriptEvent, TurnDoneEvent, TurnEvent,
)
from agent.realtime.playback import PlaybackTracker
from agent.realtime.turn_taking.speculation import Speculation
from speech.audio import AudioClip

# stage name -> the reply timing it is measured at ("end_of_speech_detected" is the wait itself)
_STAGE_MARKS = {"final_transcript": "transcript", "llm_first_token": "first_text",
                "first_sentence": "first_sentence", "first_audio_sent": "first_audio_sent"}


@dataclass
class ReplyState:
    response_id: str
    started_at: float
    clock: object = time.monotonic
    task: object = None  # the asyncio.Task running the reply
    playback: PlaybackTracker = field(default_factory=PlaybackTracker)
    transcript: str = ""
    generated: bool = False  # TurnDone seen: the agent has stored the turn itself
    done_sent: bool = False  # its ReplyFinished went out (each reply gets exactly one)
    timings_ms: dict[str, float] = field(default_factory=dict)
    speculation: str = "none"
    speculation_run: Speculation | None = None
    turn_ended_at: float = 0.0  # time.monotonic() when the reply started
    # The user's audio, when `semantic_vad` ended the turn before the silence rule: speech
    # that follows before much of the reply has played continues that turn.
    early_clip: AudioClip | None = None
    early_speech_s: float = 0.0

    def ms(self) -> float:
        return round((self.clock() - self.started_at) * 1000, 1)

    def observe(self, event: TurnEvent) -> None:
        if isinstance(event, TranscriptEvent):
            self.transcript = event.text
            self.timings_ms.setdefault("transcript", self.ms())
        elif isinstance(event, TextDeltaEvent):
            self.timings_ms.setdefault("first_text", self.ms())
        elif isinstance(event, SentenceEvent):
            self.timings_ms.setdefault("first_sentence", self.ms())
        elif isinstance(event, AudioChunkEvent):
            self.timings_ms.setdefault("first_audio_sent", self.ms())
            self.playback.add(event.sentence_index, event.chunk.text, event.chunk.duration_s)
        elif isinstance(event, TurnDoneEvent):
            self.generated = True

    def stage_times(self) -> dict[str, float]:
        wait = self.timings_ms.get("end_of_turn_wait", 0.0)
        stages = {"end_of_speech_detected": wait}
        for stage, mark in _STAGE_MARKS.items():
            if mark in self.timings_ms:
                stages[stage] = round(wait + self.timings_ms[mark], 1)
        return stages

    def speculation_saved_ms(self) -> float | None:
        """Estimate for a committed speculation: the part of its way to first audio that
        was done before the turn ended (see `stats.py`)."""
        run = self.speculation_run
        head = self.timings_ms.get("speculation_head_start")
        if self.speculation != "committed" or run is None or head is None:
            return None
        if run.first_audio_at is None:
            return head
        return round(min(head, (run.first_audio_at - run.started_at) * 1000), 1)
