"""A TEST DOUBLE of the StepFun Realtime websocket (OpenAI-Realtime-style events), on loopback.

It checks the bearer key and the client's events (session.update first, known item types,
pcm16 audio appended then committed, response.create last) and answers `response.create` with
a scripted list of server events; `"CLOSE"` in the script drops the connection there and
`("SLEEP", s)` pauses. A protocol mistake is answered with an `error` event, as the real API does.
"""

from __future__ import annotations

import asyncio
import base64
import json
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import serve
from websockets.http11 import Response

ITEM_TYPES = {"message", "function_call", "function_call_output"}


@dataclass
class RealtimeScript:
    key: str = "test-key"
    replies: list[list[Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    audio_bytes: int = 0


def _problem(events: list[dict[str, Any]]) -> str | None:
    if not events or events[0].get("type") != "session.update":
        return "the first event must be session.update"
    committed = appended = False
    for e in events[1:]:
        kind = e.get("type")
        if kind == "conversation.item.create":
            if e["item"].get("type") not in ITEM_TYPES:
                return f"unknown item type {e['item'].get('type')!r}"
        elif kind == "input_audio_buffer.append":
            if len(base64.b64decode(e["audio"], validate=True)) % 2:
                return "pcm16 audio must be whole 16-bit samples"
            appended = True
        elif kind == "input_audio_buffer.commit":
            committed = appended
        elif kind != "response.create":
            return f"unexpected event {kind!r}"
    if appended and not committed:
        return "audio appended but never committed"
    return None


@asynccontextmanager
async def realtime_server(script: RealtimeScript):
    def check_auth(connection, request):
        if request.headers.get("Authorization") != f"Bearer {script.key}":
            return connection.respond(401, "bad key\n")
        return None

    async def handler(ws):
        events: list[dict[str, Any]] = []
        async for raw in ws:
            event = json.loads(raw)
            script.received.append(event)
            events.append(event)
            if event["type"] == "input_audio_buffer.append":
                script.audio_bytes += len(base64.b64decode(event["audio"]))
            if event["type"] != "response.create":
                continue
            if (problem := _problem(events)) is not None:
                await ws.send(json.dumps({"type": "error", "error": {
                    "type": "invalid_request_error", "message": problem}}))
                continue
            for out in script.replies.pop(0) if script.replies else []:
                if out == "CLOSE":
                    await ws.close()  # the client sees the session end before response.done
                    return
                if isinstance(out, tuple):
                    await asyncio.sleep(out[1])
                    continue
                await ws.send(json.dumps(out))

    async with serve(handler, "127.0.0.1", 0, process_request=check_auth) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime"


__all__ = ["RealtimeScript", "Response", "realtime_server"]
