"""A scripted OpenAI-compatible chat server on loopback that answers from its prompt.

A TEST DOUBLE for the LLM a deployment runs on vLLM. It proves what reached the model, not
what a model would say:
- "what is my name?" is answered with the last "my name is X" found anywhere in the prompt
  it was sent (system prompt, caller facts, history), or "I do not know your name." So a
  right answer from a worker that never heard the name shows the history reached it.
- "my name is X" gets "Nice to meet you, X.";
- "tell me a story" gets `STORY`, several sentences streamed a word every `story_delay_s`,
  so a test can kill a worker while the reply is being spoken;
- anything else gets "Noted.".
Each request's messages are recorded with the time it arrived.
"""

from __future__ import annotations

import asyncio
import json
import re
import time

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from loopback_server import LoopbackServer

MODEL = "name-echo"
NAME_SAID = re.compile(r"\bmy name is ([A-Z][a-z]+)")
NAME_ASKED = re.compile(r"what(?: is|'s) my name", re.I)
STORY = ("Once upon a time a lighthouse keeper lived on a rock. Every night she lit the lamp "
         "for the boats at sea. One winter the oil ran out in a storm. She burned her chairs "
         "to keep the light going. In the morning every boat was home.")


def _text(content) -> str:
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def answer(messages: list[dict]) -> tuple[str, bool]:
    """(the reply, whether it is the slow story)."""
    users = [m for m in messages if m.get("role") == "user"]
    last = _text(users[-1]["content"]) if users else ""
    if NAME_ASKED.search(last):
        earlier = " ".join(_text(m.get("content")) for m in messages if m is not users[-1])
        names = NAME_SAID.findall(earlier)
        return (f"Your name is {names[-1]}." if names else "I do not know your name."), False
    if (said := NAME_SAID.search(last)) is not None:
        return f"Nice to meet you, {said.group(1)}.", False
    if "tell me a story" in last.lower():
        return STORY, True
    return "Noted.", False


class NameEchoServer(LoopbackServer):
    def __init__(self, story_delay_s: float = 0.15, word_delay_s: float = 0.005) -> None:
        self.story_delay_s = story_delay_s
        self.word_delay_s = word_delay_s
        self.requests: list[tuple[float, list[dict], str]] = []  # (time, messages, reply)
        super().__init__(self._app())
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/models")
        async def models() -> dict:
            return {"object": "list", "data": [{"id": MODEL, "object": "model"}]}

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> StreamingResponse:
            body = await request.json()
            reply, slow = answer(body["messages"])
            self.requests.append((time.monotonic(), body["messages"], reply))
            delay = self.story_delay_s if slow else self.word_delay_s
            return StreamingResponse(self._chunks(reply, delay), media_type="text/event-stream")

        return app

    async def _chunks(self, reply: str, delay_s: float):
        created = int(time.time())

        def event(delta: dict, finish: str | None = None) -> str:
            chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": created,
                     "model": MODEL, "choices": [{"index": 0, "delta": delta,
                                                  "finish_reason": finish}]}
            return f"data: {json.dumps(chunk)}\n\n"

        yield event({"role": "assistant"})
        for i, word in enumerate(reply.split(" ")):
            await asyncio.sleep(delay_s)
            yield event({"content": word if i == 0 else " " + word})
        yield event({}, "stop")
        yield "data: [DONE]\n\n"

    def replies_after(self, since: float) -> list[tuple[list[dict], str]]:
        return [(messages, reply) for at, messages, reply in self.requests if at >= since]
