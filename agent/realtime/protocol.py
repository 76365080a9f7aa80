"""The JSON event protocol of `/v1/realtime`, modelled on the OpenAI Realtime API.

Every message is one JSON object with a `type`. Client events are validated here (unknown
fields in `session` are ignored and reported, so OpenAI clients that send `voice`, `tools` or
`modalities` still connect); a message that fails validation gets an `error` event and the
session goes on.

Client -> server
    session.update               {session: SessionConfig}
    input_audio_buffer.append    {audio: base64 of mono little-endian pcm16 (or float32)}
    input_audio_buffer.commit    end the user's turn now (for turn_detection.type == "none")
    input_audio_buffer.clear     drop buffered, not yet committed audio
    conversation.item.create     {item: {type: "message", role: "user",
                                         content: [{type: "input_text", text}]}}
    response.create              answer the text item(s) created since the last response
    response.cancel              stop the reply in progress
    conversation.item.truncate   {item_id, content_index, audio_end_ms}: the client's playback
                                 of that reply stopped there (e.g. the user talked over it);
                                 history keeps only the words played (an estimate within
                                 the sentence, in proportion to its audio). A reply in
                                 progress is stopped; an interrupted one is corrected.

Server -> client
    session.created / session.updated       {session, limits, personas, ignored_fields}
    conversation.state.changed              {previous, state, reason}   (stepvox extension)
    input_audio_buffer.speech_started       {audio_start_ms}
    input_audio_buffer.speech_paused        {audio_ms}                  (stepvox extension)
    input_audio_buffer.speech_resumed       {audio_ms}                  (stepvox extension)
    input_audio_buffer.speech_stopped       {audio_end_ms, speech_ms}
    input_audio_buffer.committed            {item_id}
    input_audio_buffer.backchannel          {speech_ms}  (overlap too short to interrupt)
    input_audio_buffer.turn_end_estimate    {probability, verdict, end_of_turn_ms}
                                            (semantic_vad: how likely the words so far are
                                            a finished turn, and the silence that now ends
                                            it; stepvox extension)
    response.created                        {response: {id, status: "in_progress",
                                                        output: [{id: the assistant item_id}]}}
    conversation.item.input_audio_transcription.completed  {item_id, transcript}
    response.text.delta                     {response_id, delta}   reply text as written
    response.audio_transcript.delta         {response_id, delta}   each sentence as spoken
    response.audio.delta                    {response_id, item_id, content_index,
                                             delta: base64 pcm16, sample_rate}
    response.function_call_arguments.done   {response_id, call_id, name, arguments}
    response.function_call_output.done      {response_id, call_id, name, output, is_error}
    response.audio.done / response.text.done
    output_audio_buffer.cleared             {response_id}  stop playback now (barge-in)
    conversation.item.truncated             {item_id, response_id, content_index, audio_end_ms,
                                             played_text, by_client}
    response.done        {response: {id, status, transcript, output_text, played_text,
                                     audio_ms, played_ms, timings_ms, stages_ms, speculation,
                                     speculation_saved_ms, error}}
                         stages_ms: ms from the end of the user's speech to
                         end_of_speech_detected, final_transcript, llm_first_token,
                         first_sentence, first_audio_sent (those the turn reached)
    session.stats        {session: figures, server: figures} after each response.done
                         (stepvox extension); figures: turns {completed, cancelled,
                         failed}, barge_ins, backchannels, speculation {started, committed,
                         discarded, commit_rate, saved_ms_total, saved_ms_mean},
                         first_audio_ms_mean
    error                {error: {type, code, message, event_id}}
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TurnDetection(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # semantic_vad: as server_vad, but the model's estimate that the words so far are a
    # finished turn shortens or lengthens the silence (agent.realtime.turn_taking.policy);
    # it comes from the speculative run, so it needs `speculative` and a backend that
    # sends it (the embedded one), else the silence rule applies unchanged.
    type: Literal["semantic_vad", "server_vad", "none"] = "semantic_vad"
    eagerness: Literal["low", "medium", "high", "auto"] = "auto"
    threshold: float = Field(0.5, ge=0.05, le=0.95)
    pause_duration_ms: int = Field(128, ge=32, le=5_000)
    silence_duration_ms: int = Field(640, ge=64, le=10_000)  # end of turn, as OpenAI names it
    barge_in_min_ms: int = Field(600, ge=0, le=10_000)
    # Start a reply on each pause; commit it if the final words match (paper 3.4).
    speculative: bool = True
    # With `speculative`: start a pause's ASR at its first silent window (< -60 dBFS), so
    # the reply on the pause starts sooner. A silent window the user talks through costs
    # part of an ASR pass (cut short after its encoder): off for an ASR billed per call.
    early_transcription: bool = True


class SessionConfig(BaseModel):
    """What a client may set with `session.update`; every field is optional."""

    model_config = ConfigDict(extra="allow")

    persona: str | None = None
    input_audio_format: Literal["pcm16", "float32"] = "pcm16"
    input_sample_rate: int = Field(16_000, ge=8_000, le=96_000)
    output_sample_rate: int | None = Field(None, ge=8_000, le=48_000)
    turn_detection: TurnDetection = Field(default_factory=TurnDetection)


class SessionLimits(BaseModel):
    """Per-session limits; the server's operator sets them, clients only read them."""

    max_message_bytes: int = 512 * 1024
    max_frame_s: float = 2.0  # audio in one append
    max_audio_speed: float = 4.0  # audio seconds per wall second, after the burst
    audio_burst_s: float = 10.0
    # Client events per second, after a burst: a browser sending 128-sample frames at
    # 48 kHz sends ~375 a second; a flood of events past this is answered, not handled.
    max_events_per_s: float = Field(500.0, gt=0)
    event_burst: int = Field(2_000, ge=1)
    max_session_s: float = 1800.0
    max_text_chars: int = 4_000
    max_queued_events: int = 2_000  # a client this far behind is too slow and is closed


class SessionUpdate(_Strict):
    type: Literal["session.update"]
    event_id: str | None = None
    session: dict[str, Any]


class AudioAppend(_Strict):
    type: Literal["input_audio_buffer.append"]
    event_id: str | None = None
    audio: str


class AudioCommit(_Strict):
    type: Literal["input_audio_buffer.commit"]
    event_id: str | None = None


class AudioClear(_Strict):
    type: Literal["input_audio_buffer.clear"]
    event_id: str | None = None


class InputText(BaseModel):
    type: Literal["input_text", "text"]
    text: str


class MessageItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["message"] = "message"
    role: Literal["user"]
    content: list[InputText] = Field(min_length=1)


class ItemCreate(_Strict):
    type: Literal["conversation.item.create"]
    event_id: str | None = None
    item: MessageItem
    previous_item_id: str | None = None


class ResponseCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")  # OpenAI clients send response options

    type: Literal["response.create"]
    event_id: str | None = None


class ItemTruncate(_Strict):
    type: Literal["conversation.item.truncate"]
    event_id: str | None = None
    item_id: str
    content_index: int = Field(0, ge=0)
    # Bounded: JSON integers have no limit, and 10**400 ms does not fit a float.
    audio_end_ms: int = Field(ge=0, le=86_400_000)


class ResponseCancel(_Strict):
    type: Literal["response.cancel"]
    event_id: str | None = None
    response_id: str | None = None


ClientEvent = Annotated[
    SessionUpdate | AudioAppend | AudioCommit | AudioClear | ItemCreate | ItemTruncate
    | ResponseCreate | ResponseCancel,
    Field(discriminator="type"),
]
CLIENT_EVENT = TypeAdapter(ClientEvent)
CLIENT_EVENT_TYPES = sorted(
    m.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    for m in (SessionUpdate, AudioAppend, AudioCommit, AudioClear, ItemCreate, ItemTruncate,
              ResponseCreate, ResponseCancel))


def server_event(type_: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "event_id": f"event_{uuid.uuid4().hex[:16]}", **fields}


def error_event(code: str, message: str, *, kind: str = "invalid_request_error",
                event_id: str | None = None) -> dict[str, Any]:
    return server_event("error", error={"type": kind, "code": code, "message": message,
                                        "event_id": event_id})
