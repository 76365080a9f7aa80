"""`StepFunRealtimeModel`: the StepFun Realtime API (OpenAI-Realtime-style websocket, spec 9).

One websocket session per reply: `session.update` (instructions, voice, tools, no server VAD:
stepvox runs its own VAD and owns the history), the history as `conversation.item.create`
items, the user's audio as 24 kHz pcm16 `input_audio_buffer.append` + `commit`, then
`response.create`. Replaying the history costs a little per turn but keeps the session
stateless, so a cut connection never leaves the server's idea of the conversation out of step.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, Field

from agent.chat_model import (
    ChatEvent, ChatMessage, ModelDone, TextDelta, ToolCall, ToolCallEvent, ToolChoice,
)
from agent.errors import ModelBackendError
from agent.backends.step_audio.errors import (
    ServerResponseError, ServerTimeoutError, ServerUnreachableError, StreamCutError,
)
from agent.backends.step_audio.tool_text import parse_tool_call_body
from speech.audio import AudioClip

REALTIME_RATE = 24_000
API_KEY_ENV = "STEPFUN_API_KEY"
_APPEND_SAMPLES = REALTIME_RATE // 2  # 0.5 s per append event keeps frames well under 1 MiB


class MissingApiKeyError(ModelBackendError):
    """The Realtime API needs a key and none was configured."""


class RealtimeSettings(BaseModel):
    url: str = "wss://api.stepfun.com/v1/realtime"
    model: str = "step-audio-2-mini"
    api_key: str | None = None  # default: the STEPFUN_API_KEY environment variable
    voice: str | None = None
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    # None: text and audio with a pcm_sink to play it, text only without (no wasted audio).
    modalities: list[str] | None = None
    open_timeout_s: float = Field(10.0, gt=0)
    read_timeout_s: float = Field(60.0, gt=0)


class PcmSink(Protocol):
    """Receives reply audio (24 kHz mono pcm16 bytes) as it streams."""

    async def feed(self, pcm16: bytes) -> None: ...


def history_items(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """Our messages (system excluded: it becomes `instructions`) as Realtime conversation items."""
    items: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "user":
            items.append({"type": "message", "role": "user",
                          "content": [{"type": "input_text", "text": m.content}]})
        elif m.role == "assistant":
            if m.content:
                items.append({"type": "message", "role": "assistant",
                              "content": [{"type": "text", "text": m.content}]})
            items += [{"type": "function_call", "call_id": c.id, "name": c.name,
                       "arguments": json.dumps(c.arguments, ensure_ascii=False)}
                      for c in m.tool_calls]
        elif m.role == "tool":
            items.append({"type": "function_call_output", "call_id": m.tool_call_id,
                          "output": m.content})
    return items


def pcm16_chunks(clip: AudioClip) -> list[str]:
    x = clip.resampled(REALTIME_RATE).samples
    pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2")
    return [base64.b64encode(pcm[i:i + _APPEND_SAMPLES].tobytes()).decode("ascii")
            for i in range(0, len(pcm), _APPEND_SAMPLES)]


class StepFunRealtimeModel:
    """A `ChatModel` over the StepFun Realtime websocket; `stream` also takes the user's audio."""

    accepts_audio = True  # stream(..., audio=clip) sends the clip itself

    def __init__(self, settings: RealtimeSettings | None = None, *, pcm_sink: PcmSink | None = None,
                 **overrides: Any) -> None:
        base = settings.model_dump() if settings is not None else {}
        self.settings = RealtimeSettings.model_validate({**base, **overrides})
        self.name = f"stepfun-realtime:{self.settings.model}"
        self.pcm_sink = pcm_sink

    def _api_key(self) -> str:
        key = self.settings.api_key or os.environ.get(API_KEY_ENV)
        if not key:
            raise MissingApiKeyError(
                f"The StepFun Realtime API needs an API key: set {API_KEY_ENV} in the "
                "environment (or api_key in the settings).")
        return key

    def opening_events(self, messages: Sequence[ChatMessage], tools: Sequence[dict[str, Any]],
                       tool_choice: ToolChoice, audio: AudioClip | None) -> list[dict[str, Any]]:
        s = self.settings
        session: dict[str, Any] = {
            "modalities": s.modalities or (["text", "audio"] if self.pcm_sink else ["text"]),
            "temperature": s.temperature,
            "instructions": "\n\n".join(m.content for m in messages if m.role == "system"),
            "input_audio_format": "pcm16", "output_audio_format": "pcm16",
            "turn_detection": None,  # stepvox's VAD decides when the user is done
            "tools": [{"type": "function", **t.get("function", t)} for t in tools],
            "tool_choice": tool_choice,
        }
        if s.voice:
            session["voice"] = s.voice
        events = [{"type": "session.update", "session": session}]
        events += [{"type": "conversation.item.create", "item": item}
                   for item in history_items(messages)]
        if audio is not None:
            events += [{"type": "input_audio_buffer.append", "audio": chunk}
                       for chunk in pcm16_chunks(audio)]
            events.append({"type": "input_audio_buffer.commit"})
        events.append({"type": "response.create"})
        return events

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[dict[str, Any]] = (),
        *,
        tool_choice: ToolChoice = "auto",
        audio: AudioClip | None = None,
    ) -> AsyncIterator[ChatEvent]:
        # Imported here so the other backends work without the `websockets` package.
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidStatus

        s = self.settings
        url = f"{s.url}?model={s.model}"
        headers = {"Authorization": f"Bearer {self._api_key()}"}
        text: list[str] = []
        try:
            async with connect(url, additional_headers=headers, open_timeout=s.open_timeout_s,
                               max_size=16 * 2**20) as ws:
                for event in self.opening_events(messages, tools, tool_choice, audio):
                    await ws.send(json.dumps(event, ensure_ascii=False))
                while True:
                    event = await _receive(ws, s.read_timeout_s, url)
                    kind = event.get("type", "")
                    if kind in ("response.text.delta", "response.audio_transcript.delta"):
                        if delta := event.get("delta"):
                            text.append(delta)
                            yield TextDelta(delta)
                    elif kind == "response.audio.delta" and self.pcm_sink is not None:
                        await self.pcm_sink.feed(base64.b64decode(event.get("delta", "")))
                    elif kind == "response.function_call_arguments.done":
                        yield ToolCallEvent(_tool_call(event))
                    elif kind == "response.done":
                        response = event.get("response") or {}
                        yield ModelDone(finish_reason=response.get("status", "completed"),
                                        raw={"usage": response.get("usage"), "text": "".join(text)})
                        return
                    elif kind == "error":
                        error = event.get("error") or {}
                        raise ServerResponseError(
                            f"{url} reported an error: {error.get('message', error)}",
                            status=400, server_message=str(error.get("message", "")))
        except InvalidStatus as exc:
            status = exc.response.status_code
            hint = " Check STEPFUN_API_KEY." if status in (401, 403) else ""
            raise ServerResponseError(f"{url} refused the websocket with HTTP {status}.{hint}",
                                      status=status) from exc
        except (OSError, TimeoutError) as exc:
            if isinstance(exc, TimeoutError):
                raise ServerUnreachableError(f"Opening {url} timed out.") from exc
            raise ServerUnreachableError(f"Could not connect to {url}: {exc}.") from exc
        except ConnectionClosed as exc:
            raise StreamCutError(f"The Realtime session at {url} closed mid-reply ({exc}).",
                                 partial_text="".join(text)) from exc


def _tool_call(event: dict[str, Any]) -> ToolCall:
    call = parse_tool_call_body(json.dumps({"name": event.get("name"),
                                            "arguments": event.get("arguments") or "{}"}))
    return call.model_copy(update={"id": event["call_id"]}) if event.get("call_id") else call


async def _receive(ws, timeout_s: float, url: str) -> dict[str, Any]:
    try:
        raw = await asyncio.wait_for(ws.recv(), timeout_s)
    except TimeoutError as exc:
        raise ServerTimeoutError(f"{url} sent nothing for {timeout_s:g} s.") from exc
    try:
        event = json.loads(raw)
    except (TypeError, json.JSONDecodeError):
        return {}
    return event if isinstance(event, dict) else {}
