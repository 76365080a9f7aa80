"""Running figures of realtime conversations: turns, barge-ins, and how speculation paid off.

One `RealtimeStats` per session (sent to the client as `session.stats`) and one for the
whole server (the same figures, summed over its sessions, also behind `/metrics`). Both are
fed the controller's events, so they count exactly what the client was told.

Speculation figures:
- commit rate = committed / (committed + discarded); a speculation still running is neither;
- latency saved (an estimate, per committed speculation) = the part of the speculation's way
  to its first audio that was already done when the turn ended: min(head start, its own time
  to first audio). It assumes a rerun would have taken as long as the speculation did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.realtime.controller_events import (
    BackchannelIgnored, ControllerEvent, ReplyFinished, SpeculationEvent, StateChanged,
)

STAGES = ("end_of_speech_detected", "final_transcript", "llm_first_token", "first_sentence",
          "first_audio_sent")


@dataclass
class RealtimeStats:
    turns: dict[str, int] = field(default_factory=lambda: {
        "completed": 0, "cancelled": 0, "failed": 0})
    barge_ins: int = 0
    backchannels: int = 0
    speculation: dict[str, int] = field(default_factory=lambda: {
        "started": 0, "committed": 0, "discarded": 0})
    # Sums and counts, not lists: the server-wide figures run for the server's lifetime.
    saved_ms_total: float = 0.0
    saved_n: int = 0
    first_audio_ms_total: float = 0.0  # end of speech -> first audio sent
    first_audio_n: int = 0

    def observe(self, event: ControllerEvent) -> None:
        if isinstance(event, SpeculationEvent):
            self.speculation[event.outcome] += 1
        elif isinstance(event, StateChanged) and event.reason == "barge_in":
            self.barge_ins += 1
        elif isinstance(event, BackchannelIgnored):
            self.backchannels += 1
        elif isinstance(event, ReplyFinished):
            self.turns[event.status] += 1
            if event.speculation_saved_ms is not None:
                self.saved_ms_total += event.speculation_saved_ms
                self.saved_n += 1
            if (first := event.stages_ms.get("first_audio_sent")) is not None:
                self.first_audio_ms_total += first
                self.first_audio_n += 1

    @property
    def commit_rate(self) -> float | None:
        decided = self.speculation["committed"] + self.speculation["discarded"]
        return self.speculation["committed"] / decided if decided else None

    def snapshot(self) -> dict[str, Any]:
        commit_rate = self.commit_rate
        return {
            "turns": dict(self.turns),
            "barge_ins": self.barge_ins,
            "backchannels": self.backchannels,
            "speculation": {
                **self.speculation,
                "commit_rate": None if commit_rate is None else round(commit_rate, 3),
                "saved_ms_total": round(self.saved_ms_total, 1),
                "saved_ms_mean": (round(self.saved_ms_total / self.saved_n, 1)
                                  if self.saved_n else None),
            },
            "first_audio_ms_mean": (round(self.first_audio_ms_total / self.first_audio_n, 1)
                                    if self.first_audio_n else None),
        }
