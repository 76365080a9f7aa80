"""One websocket session: validates client events, enforces the limits, feeds the controller,
and sends the controller's events back through a bounded queue.

Nothing a client sends may end the server: every bad message is answered with an `error`
event and the session goes on; only a client too slow to read its events, or one past the
session's time limit, is closed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
import uuid
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from collections.abc import Callable

from agent.realtime.cluster.binding import ClusterOptions
from agent.realtime.cluster.identity import Caller
from agent.realtime.cluster.session_conversation import SessionConversation
from agent.realtime.audio_input import (
    EnergyVad, FrameDecoder, SileroStreamingVad, StreamingVad, TurnSegmenter,
)
from agent.realtime.controller import RealtimeController
from agent.realtime.controller_events import ControllerEvent, ReplyFinished
from agent.realtime.event_mapping import EventMapper
from agent.realtime.persona_agents import PersonaAgents
from agent.realtime.rate_limits import TokenBucket
from agent.realtime.stats import RealtimeStats
from agent.realtime.turn_taking.policy import TurnEndPolicy
from agent.realtime.protocol import (
    CLIENT_EVENT, CLIENT_EVENT_TYPES, AudioAppend, AudioClear, AudioCommit, ItemCreate,
    ItemTruncate, ResponseCancel, ResponseCreate, SessionConfig, SessionLimits, SessionUpdate, error_event,
    server_event,
)
from personas import PersonaError
from speech.errors import SpeechError

log = logging.getLogger("stepvox.realtime")


class RealtimeSession:
    def __init__(self, ws: WebSocket, agents: PersonaAgents, limits: SessionLimits,
                 vad_kind: str = "silero", *, server_stats: RealtimeStats | None = None,
                 metrics=None, vad_factory: Callable[[], StreamingVad] | None = None,
                 cluster: ClusterOptions | None = None, caller: Caller | None = None) -> None:
        self.ws = ws
        self.stats = RealtimeStats()  # this session's figures, sent as `session.stats`
        self.server_stats = server_stats
        self.metrics = metrics  # RealtimeMetrics when the server exposes /metrics
        self.agents = agents
        self.limits = limits
        self.vad_kind = vad_kind
        # The server passes streams of its one shared Silero model (`shared_vad.py`).
        self.vad_factory = vad_factory
        self.id = f"sess_{uuid.uuid4().hex[:16]}"
        self.config = SessionConfig()
        self.started = time.monotonic()
        self.events = TokenBucket(limits.max_events_per_s, limits.event_burst)
        self.audio = TokenBucket(limits.max_audio_speed, limits.audio_burst_s)
        self.pending_text: list[str] = []
        self.out: asyncio.Queue[dict | None] = asyncio.Queue(limits.max_queued_events)
        self.overflowed = False
        self._sender_task: asyncio.Task | None = None
        self._closer: asyncio.Task | None = None
        self.mapper = EventMapper()
        self.decoder = FrameDecoder()
        self.controller = RealtimeController(
            agents.get(None), self._segmenter(), self._on_controller_event,
            # The session's id, unless the client names a conversation (`?conversation_id=`).
            conversation_id=self.id, speculate=self.config.turn_detection.speculative,
            early_asr=self.config.turn_detection.early_transcription,
            turn_end_policy=self._turn_end_policy())
        # Which conversation this session serves, and what other workers tell it
        # (cluster/session_conversation.py); by default a new one, in this process only.
        self.conversation = SessionConversation(self, cluster or ClusterOptions(),
                                                caller or Caller(None))

    def _segmenter(self) -> TurnSegmenter:
        td = self.config.turn_detection
        if self.vad_factory is not None:
            vad = self.vad_factory()
        else:
            vad = SileroStreamingVad() if self.vad_kind == "silero" else EnergyVad()
        return TurnSegmenter(vad, threshold=td.threshold, pause_ms=td.pause_duration_ms,
                             end_of_turn_ms=max(td.silence_duration_ms, td.pause_duration_ms),
                             auto_end=td.type != "none")

    def _turn_end_policy(self) -> TurnEndPolicy | None:
        td = self.config.turn_detection
        if td.type != "semantic_vad":
            return None
        return TurnEndPolicy.for_eagerness(
            td.eagerness, max(td.silence_duration_ms, td.pause_duration_ms))

    # -- sending -----------------------------------------------------------------------

    def send(self, event: dict[str, Any]) -> None:
        if event["type"] == "error" and self.metrics is not None:
            self.metrics.error(event["error"]["code"])
        if self.overflowed:
            return
        try:
            self.out.put_nowait(event)
        except asyncio.QueueFull:
            # Never block the controller on one slow reader: drop the session instead.
            self.overflowed = True
            log.warning("session %s: client too slow, closing", self.id)
            if self._sender_task is not None:
                self._sender_task.cancel()
            self._closer = asyncio.get_running_loop().create_task(
                self._close(1008, "client too slow: events queued past max_queued_events"))

    async def _on_controller_event(self, event: ControllerEvent) -> None:
        for observer in (self.stats, self.server_stats, self.metrics):
            if observer is not None:
                observer.observe(event)
        for message in self.mapper.map(event):
            self.send(message)
        if isinstance(event, ReplyFinished):
            self.send(server_event(
                "session.stats", session=self.stats.snapshot(),
                server=self.server_stats.snapshot() if self.server_stats is not None else None))

    async def _sender(self) -> None:
        while (event := await self.out.get()) is not None:
            await self.ws.send_text(json.dumps(event))

    def _session_view(self) -> dict[str, Any]:
        agent = self.controller.agent
        view = self.config.model_dump(include=set(SessionConfig.model_fields))
        view.update(id=self.id, conversation_id=self.controller.conversation_id,
                    persona=self.config.persona or agent.persona.name,
                    output_sample_rate=self.config.output_sample_rate or agent.sample_rate)
        return view

    # -- receiving ---------------------------------------------------------------------

    async def run(self) -> None:
        sender = self._sender_task = asyncio.create_task(self._sender())
        watchdog = asyncio.create_task(self._watchdog())
        try:
            # `?conversation_id=`: continue that conversation (or start it under that id).
            if not await self.conversation.open(
                    getattr(self.ws, "query_params", {}).get("conversation_id")):
                await asyncio.sleep(0.05)  # let the sender flush the error first
                await self._close(1008, "conversation not opened: see the error event")
                return
            self.send(server_event("session.created", session=self._session_view(),
                                   limits=self.limits.model_dump(), personas=self.agents.names(),
                                   resumed=self.conversation.resumed))
            await self._receive_loop(sender)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the client went away (RuntimeError: receive after a close)
        finally:
            await self.controller.close()
            # The conversation's session ends with the socket, so its running record is
            # closed and (with a history database) facts about the caller are learnt now,
            # not only when the server shuts down; another socket may continue it later.
            await self.conversation.close()
            for task in (sender, watchdog):
                task.cancel()
            await asyncio.gather(sender, watchdog, return_exceptions=True)
            log.info("session %s closed", self.id)

    async def _receive_loop(self, sender: asyncio.Task) -> None:
        while not sender.done() and not self.overflowed:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if time.monotonic() - self.started > self.limits.max_session_s:
                await self._expire()
                return
            if not self.events.take():
                self.send(error_event(
                    "rate_limit_exceeded", "events are arriving faster than "
                    f"{self.limits.max_events_per_s:g} a second; this one was dropped",
                    kind="rate_limit_error"))
                continue
            text = message.get("text")
            if text is None:
                self.send(error_event("binary_not_supported", "send JSON text messages; audio "
                                      "goes base64-encoded in input_audio_buffer.append"))
                continue
            try:
                await self._handle(text)
            except Exception:  # a bug in one handler must not end the session
                log.exception("session %s: handler failed", self.id)
                self.send(error_event("server_error", "the server failed on this event",
                                      kind="server_error"))

    async def _expire(self) -> None:
        self.send(error_event("session_expired", "the session reached its "
                              f"{self.limits.max_session_s:g} s limit; open a new one"))
        await asyncio.sleep(0.05)  # let the sender flush the error first
        await self._close(1000, "session time limit")

    async def _watchdog(self) -> None:
        # A client that goes quiet is closed on time too, not at its next message.
        await asyncio.sleep(self.limits.max_session_s)
        await self._expire()

    async def _close(self, code: int, reason: str) -> None:
        try:
            await self.ws.close(code=code, reason=reason)
        except Exception:  # already gone
            pass

    async def _handle(self, text: str) -> None:
        # Bytes, not characters: 512 Ki CJK characters are 1.5 MiB.
        size = len(text) if len(text) * 4 <= self.limits.max_message_bytes else len(
            text.encode("utf-8", "surrogatepass"))
        if size > self.limits.max_message_bytes:
            self.send(error_event("message_too_large", f"a message may hold at most "
                                  f"{self.limits.max_message_bytes} bytes, got {size}"))
            return
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            self.send(error_event("invalid_json", f"message is not JSON: {exc}"))
            return
        except (ValueError, RecursionError) as exc:
            # JSON, but past what Python parses: a number of over 4300 digits (ValueError),
            # or `[[[[...` nested past the recursion limit.
            self.send(error_event("invalid_json", "message is JSON this server does not read: "
                                  f"{exc if isinstance(exc, ValueError) else 'nested too deeply'}"))
            return
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            self.send(error_event("invalid_event", "an event is a JSON object with a 'type'"))
            return
        event_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
        if raw["type"] not in CLIENT_EVENT_TYPES:
            self.send(error_event("unknown_event", f"unknown event type {raw['type']!r}; "
                                  f"known: {', '.join(CLIENT_EVENT_TYPES)}", event_id=event_id))
            return
        try:
            event = CLIENT_EVENT.validate_python(raw)
        except ValidationError as exc:
            self.send(error_event("invalid_event", _summary(exc), event_id=event_id))
            return
        handler = {
            SessionUpdate: self._session_update, AudioAppend: self._append,
            AudioCommit: self._commit, AudioClear: self._clear, ItemCreate: self._item_create,
            ItemTruncate: self._item_truncate,
            ResponseCreate: self._response_create, ResponseCancel: self._response_cancel,
        }[type(event)]
        await handler(event)

    async def _session_update(self, event: SessionUpdate) -> None:
        changes = {k: v for k, v in event.session.items() if k != "conversation_id"}
        merged = {**self.config.model_dump(exclude_none=True), **changes}
        try:
            config = SessionConfig.model_validate(merged)
            agent = self.agents.get(config.persona)
            decoder = FrameDecoder(config.input_audio_format, config.input_sample_rate)
        except ValidationError as exc:
            self.send(error_event("invalid_session", _summary(exc), event_id=event.event_id))
            return
        except (PersonaError, SpeechError) as exc:
            self.send(error_event("invalid_session", str(exc), event_id=event.event_id))
            return
        if "conversation_id" in event.session and not await self.conversation.switch(
                event.session["conversation_id"], event.event_id):
            return
        self.config, self.decoder = config, decoder
        self.mapper.output_sample_rate = config.output_sample_rate
        self.controller.agent = agent
        self.conversation.persona_changed()
        self.controller.barge_in_min_s = config.turn_detection.barge_in_min_ms / 1000
        self.controller.speculate = config.turn_detection.speculative
        self.controller.early_asr = config.turn_detection.early_transcription
        self.controller.turn_end_policy = self._turn_end_policy()
        self.controller.segmenter = self._segmenter()  # an utterance in progress is dropped
        self.send(server_event("session.updated", session=self._session_view(),
                               ignored_fields=sorted(config.model_extra or {})))

    async def _append(self, event: AudioAppend) -> None:
        try:
            data = base64.b64decode(event.audio, validate=True)
        except (binascii.Error, ValueError):
            self.send(error_event("invalid_audio", "audio must be base64", event_id=event.event_id))
            return
        seconds = self.decoder.seconds(data)
        if seconds > self.limits.max_frame_s:
            self.send(error_event("frame_too_large", f"one append may carry at most "
                                  f"{self.limits.max_frame_s:g} s of audio, got {seconds:.2f} s; "
                                  "send smaller frames", event_id=event.event_id))
            return
        if not self.audio.take(seconds):
            self.send(error_event("rate_limit_exceeded", "audio is arriving faster than "
                                  f"{self.limits.max_audio_speed:g}x real time; frame dropped",
                                  kind="rate_limit_error", event_id=event.event_id))
            return
        try:
            samples = self.decoder.decode(data)
        except SpeechError as exc:
            self.send(error_event("invalid_audio_format", str(exc), event_id=event.event_id))
            return
        await self.controller.push_audio(samples)

    async def _commit(self, event: AudioCommit) -> None:
        if not await self.controller.commit():
            self.send(error_event("input_audio_buffer_commit_empty", "no speech to commit",
                                  event_id=event.event_id))

    async def _clear(self, event: AudioClear) -> None:
        self.controller.segmenter.clear()
        self.send(server_event("input_audio_buffer.cleared"))

    async def _item_create(self, event: ItemCreate) -> None:
        text = " ".join(part.text for part in event.item.content).strip()
        if not text or len(text) > self.limits.max_text_chars:
            self.send(error_event("invalid_text", f"a text item needs 1 to "
                                  f"{self.limits.max_text_chars} characters, got {len(text)}",
                                  event_id=event.event_id))
            return
        self.pending_text.append(text)
        self.send(server_event("conversation.item.created", item={
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}))

    async def _item_truncate(self, event: ItemTruncate) -> None:
        # Clients name the assistant item (`<response id>_output`); the response id is
        # accepted as well.
        response_id = event.item_id.removesuffix("_output")
        if event.content_index != 0:
            self.send(error_event("invalid_content_index", "a reply has one audio part: "
                                  f"content_index must be 0, got {event.content_index}",
                                  event_id=event.event_id))
            return
        if not await self.controller.truncate(response_id, event.audio_end_ms) and not (
                await self.conversation.truncate_previous(response_id, event.audio_end_ms,
                                                          event.content_index)):
            self.send(error_event(
                "item_truncate_unavailable", f"item {event.item_id!r} cannot be truncated: "
                "only the latest reply can be, while it plays or after it was interrupted, "
                "until the next reply starts", event_id=event.event_id))

    async def _response_create(self, event: ResponseCreate) -> None:
        if self.pending_text:
            text, self.pending_text = " ".join(self.pending_text), []
            await self.controller.respond_to_text(text)
        elif not await self.controller.commit():
            self.send(error_event("nothing_to_respond_to", "create a text item or send speech "
                                  "first", event_id=event.event_id))

    async def _response_cancel(self, event: ResponseCancel) -> None:
        if not await self.controller.cancel_reply():
            self.send(error_event("response_cancel_not_active", "no response in progress",
                                  event_id=event.event_id))


def _summary(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}"
             for e in exc.errors()[:3]]
    return "; ".join(parts)
