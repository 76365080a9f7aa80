"""A scripted OpenAI-compatible chat server on loopback: the upstream the fault proxy breaks.

A TEST DOUBLE, not a model: `/v1/chat/completions` streams `reply` as SSE chunks shaped like
llama.cpp's and vLLM's (a role chunk, one content chunk per word, a finish chunk, `[DONE]`),
`/v1/models` lists one model. It records each request's messages, so a test can check what
the agent sent after a failed turn (the history it kept).
"""

from __future__ import annotations

import asyncio
import json
import time

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from loopback_server import LoopbackServer

MODEL = "scripted-chat"


class ScriptedOpenAIServer(LoopbackServer):
    def __init__(self, reply: str = "It is sunny in Lyon today, with a light wind.",
                 word_delay_s: float = 0.01) -> None:
        self.reply = reply
        self.word_delay_s = word_delay_s
        self.requests: list[list[dict]] = []  # the messages of each chat request
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
            self.requests.append(body["messages"])
            return StreamingResponse(self._chunks(), media_type="text/event-stream")

        return app

    async def _chunks(self):
        created = int(time.time())

        def event(delta: dict, finish: str | None = None) -> str:
            chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": created,
                     "model": MODEL, "choices": [{"index": 0, "delta": delta,
                                                  "finish_reason": finish}]}
            return f"data: {json.dumps(chunk)}\n\n"

        yield event({"role": "assistant"})
        words = self.reply.split(" ")
        for i, word in enumerate(words):
            await asyncio.sleep(self.word_delay_s)
            yield event({"content": word if i == 0 else " " + word})
        yield event({}, "stop")
        yield "data: [DONE]\n\n"
