"""Prometheus metrics of the realtime server (`stepvox serve --metrics`, scraped at `/metrics`).

Each server has its own registry (no process-global state: two apps in one process, as in
the tests, do not mix their counts). Everything is fed from the controller's events, the
same ones the client receives:

    stepvox_realtime_turn_stage_seconds{stage}        histogram, from the end of the user's
        speech to: end_of_speech_detected, final_transcript, llm_first_token,
        first_sentence, first_audio_sent
    stepvox_realtime_turns_total{status}              completed / cancelled / failed
    stepvox_realtime_barge_ins_total, stepvox_realtime_backchannels_total
    stepvox_realtime_speculations_total{outcome}      started / committed / discarded
    stepvox_realtime_speculation_commit_ratio         committed / (committed + discarded)
    stepvox_realtime_speculation_saved_seconds        histogram of the estimated latency
        saved per committed speculation (its _sum is the total)
    stepvox_realtime_active_sessions                  gauge
    stepvox_realtime_errors_total{code}               error events sent (by their code),
        failed replies (reply_failed), refused connections (unauthorized, server_busy)

Per-session figures are not labels here (one series per session would grow without bound):
a client gets its own in `session.stats`.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest,
)

from agent.realtime.controller_events import (
    BackchannelIgnored, ControllerEvent, ReplyFinished, SpeculationEvent, StateChanged,
)
from agent.realtime.stats import STAGES, RealtimeStats

# Voice latency lives between ~100 ms and a few seconds.
_STAGE_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)
_SAVED_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)

__all__ = ["CONTENT_TYPE_LATEST", "RealtimeMetrics"]


class RealtimeMetrics:
    """`server_stats`: the server-wide figures (fed by the sessions before this is), read
    here for the commit ratio."""

    def __init__(self, server_stats: RealtimeStats) -> None:
        self.registry = r = CollectorRegistry()
        self.stats = server_stats
        self.stage = Histogram("stepvox_realtime_turn_stage_seconds",
                               "Seconds from the end of the user's speech to each turn stage",
                               ["stage"], buckets=_STAGE_BUCKETS, registry=r)
        self.turns = Counter("stepvox_realtime_turns", "Replies by how they ended", ["status"],
                             registry=r)
        self.barge_ins = Counter("stepvox_realtime_barge_ins", "Replies the user talked over",
                                 registry=r)
        self.backchannels = Counter("stepvox_realtime_backchannels",
                                    "Short overlaps that did not interrupt the reply", registry=r)
        self.speculations = Counter("stepvox_realtime_speculations",
                                    "Speculative replies by outcome", ["outcome"], registry=r)
        self.commit_ratio = Gauge("stepvox_realtime_speculation_commit_ratio",
                                  "Committed / decided speculations", registry=r)
        self.saved = Histogram("stepvox_realtime_speculation_saved_seconds",
                               "Estimated latency saved per committed speculation",
                               buckets=_SAVED_BUCKETS, registry=r)
        self.active = Gauge("stepvox_realtime_active_sessions", "Open websocket sessions",
                            registry=r)
        self.errors = Counter("stepvox_realtime_errors", "Error events sent and failed replies",
                              ["code"], registry=r)
        for status in self.stats.turns:  # series exist (at 0) before the first turn
            self.turns.labels(status)
        for outcome in self.stats.speculation:
            self.speculations.labels(outcome)

    def observe(self, event: ControllerEvent) -> None:
        if isinstance(event, SpeculationEvent):
            self.speculations.labels(event.outcome).inc()
            if (rate := self.stats.commit_rate) is not None:
                self.commit_ratio.set(rate)
        elif isinstance(event, StateChanged) and event.reason == "barge_in":
            self.barge_ins.inc()
        elif isinstance(event, BackchannelIgnored):
            self.backchannels.inc()
        elif isinstance(event, ReplyFinished):
            self.turns.labels(event.status).inc()
            if event.status == "failed":
                self.errors.labels("reply_failed").inc()
            for stage in STAGES:
                if (ms := event.stages_ms.get(stage)) is not None:
                    self.stage.labels(stage).observe(ms / 1000)
            if event.speculation_saved_ms is not None:
                self.saved.observe(event.speculation_saved_ms / 1000)

    def error(self, code: str) -> None:
        self.errors.labels(code).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
