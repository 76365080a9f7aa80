"""Controller events -> protocol JSON (see `protocol.py` for the event list)."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import soxr

from agent.events import (
    AudioChunkEvent, SentenceEvent, TextDeltaEvent, ToolCallStartedEvent, ToolResultEvent,
    TranscriptEvent, TurnDoneEvent,
)
from agent.realtime.audio_input import SpeechPaused, SpeechResumed, SpeechStarted, UtteranceEnded
from agent.realtime.controller_events import (
    BackchannelIgnored, ControllerEvent, ReplyEvent, ReplyFinished, ReplyStarted, ReplyTruncated,
    StateChanged, TurnEndPredicted,
)
from agent.realtime.protocol import server_event

# Big sentences go out in pieces so a client can start playing before the whole sentence
# has crossed the network, and a barge-in drops less audio already queued at the client.
AUDIO_DELTA_S = 0.5


def output_item_id(response_id: str) -> str:
    """The id of a reply's assistant item (what `conversation.item.truncate` names)."""
    return f"{response_id}_output"


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def pcm16_base64(samples: np.ndarray) -> str:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    return base64.b64encode(pcm.tobytes()).decode("ascii")


class EventMapper:
    def __init__(self, output_sample_rate: int | None = None) -> None:
        self.output_sample_rate = output_sample_rate
        self._item = 0

    def _item_id(self) -> str:
        self._item += 1
        return f"item_{self._item:04d}"

    def map(self, event: ControllerEvent) -> list[dict[str, Any]]:
        if isinstance(event, StateChanged):
            return [server_event("conversation.state.changed", previous=str(event.previous),
                                 state=str(event.state), reason=event.reason)]
        if isinstance(event, SpeechStarted):
            return [server_event("input_audio_buffer.speech_started",
                                 audio_start_ms=_ms(event.at_s))]
        if isinstance(event, SpeechPaused):
            return [server_event("input_audio_buffer.speech_paused", audio_ms=_ms(event.at_s),
                                 speech_ms=_ms(event.speech_s))]
        if isinstance(event, SpeechResumed):
            return [server_event("input_audio_buffer.speech_resumed", audio_ms=_ms(event.at_s))]
        if isinstance(event, UtteranceEnded):
            return [server_event("input_audio_buffer.speech_stopped", audio_end_ms=_ms(event.end_s),
                                 speech_ms=_ms(event.speech_s)),
                    server_event("input_audio_buffer.committed", item_id=self._item_id(),
                                 forced=event.forced)]
        if isinstance(event, TurnEndPredicted):
            return [server_event("input_audio_buffer.turn_end_estimate",
                                 probability=event.probability, verdict=event.verdict,
                                 end_of_turn_ms=event.end_of_turn_ms)]
        if isinstance(event, BackchannelIgnored):
            return [server_event("input_audio_buffer.backchannel", speech_ms=_ms(event.speech_s))]
        if isinstance(event, ReplyStarted):
            return [server_event("response.created", response={
                "id": event.response_id, "status": "in_progress", "input": event.source,
                "output": [{"id": output_item_id(event.response_id), "type": "message",
                            "role": "assistant"}]})]
        if isinstance(event, ReplyEvent):
            return self._reply_event(event)
        if isinstance(event, ReplyFinished):
            out = []
            if event.status == "cancelled":
                out.append(server_event("output_audio_buffer.cleared",
                                        response_id=event.response_id))
            out.append(server_event("response.done", response={
                "id": event.response_id, "status": event.status, "transcript": event.transcript,
                "output_text": event.text, "played_text": event.played_text,
                "audio_ms": _ms(event.audio_s), "played_ms": _ms(event.played_s),
                "timings_ms": event.timings_ms, "stages_ms": event.stages_ms,
                "speculation": event.speculation,
                "speculation_saved_ms": event.speculation_saved_ms,
                "error": event.error or None}))
            return out
        if isinstance(event, ReplyTruncated):
            truncated = server_event(
                "conversation.item.truncated", item_id=output_item_id(event.response_id),
                response_id=event.response_id, content_index=event.content_index,
                audio_end_ms=_ms(event.played_s), played_text=event.played_text,
                by_client=event.by_client)
            if event.by_client:  # the client has stopped its playback itself
                return [truncated]
            return [server_event("output_audio_buffer.cleared", response_id=event.response_id),
                    truncated]
        return []

    def _reply_event(self, wrapped: ReplyEvent) -> list[dict[str, Any]]:
        rid, event = wrapped.response_id, wrapped.event
        if isinstance(event, TranscriptEvent):
            return [server_event("conversation.item.input_audio_transcription.completed",
                                 item_id=f"{rid}_input", response_id=rid, transcript=event.text)]
        if isinstance(event, TextDeltaEvent):
            return [server_event("response.text.delta", response_id=rid,
                                 item_id=output_item_id(rid), delta=event.text)]
        if isinstance(event, SentenceEvent):
            return [server_event("response.audio_transcript.delta", response_id=rid,
                                 item_id=output_item_id(rid), delta=event.text + " ",
                                 sentence_index=event.index)]
        if isinstance(event, ToolCallStartedEvent):
            return [server_event("response.function_call_arguments.done", response_id=rid,
                                 call_id=event.call.id, name=event.call.name,
                                 arguments=event.call.arguments)]
        if isinstance(event, ToolResultEvent):
            r = event.result
            return [server_event("response.function_call_output.done", response_id=rid,
                                 call_id=r.call_id, name=r.name, output=r.content,
                                 is_error=r.is_error)]
        if isinstance(event, AudioChunkEvent):
            return self._audio(rid, event)
        if isinstance(event, TurnDoneEvent):
            return [server_event("response.audio.done", response_id=rid),
                    server_event("response.text.done", response_id=rid, text=event.reply.text)]
        return []

    def _audio(self, rid: str, event: AudioChunkEvent) -> list[dict[str, Any]]:
        samples, rate = event.chunk.samples, event.chunk.sample_rate
        if self.output_sample_rate and self.output_sample_rate != rate:
            samples = soxr.resample(samples, rate, self.output_sample_rate)
            rate = self.output_sample_rate
        step = max(1, int(AUDIO_DELTA_S * rate))
        return [server_event("response.audio.delta", response_id=rid,
                             item_id=output_item_id(rid), content_index=0,
                             delta=pcm16_base64(samples[i:i + step]), sample_rate=rate,
                             sentence_index=event.sentence_index)
                for i in range(0, len(samples), step)]
