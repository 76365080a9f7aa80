"""A TEST DOUBLE of a vLLM OpenAI-compatible server as the Step-Audio deployments run it.

It is not a model: it checks each request the way the real server (and the model's template)
would need it, answers 400 like vLLM where a real server would fail or the model would get a
broken prompt, then plays back a scripted `Reply` as SSE, with optional faults (HTTP errors,
slow or silent streams, a connection cut mid-reply, garbage events).

Flavours: "step-audio-chat" (`/v1/completions` with a `<|BOT|>` prompt, or `/v1/chat/completions`
rendered here the way the HF template renders it) and "step-audio-2" (StepFun's fork: `human`
role, `input_audio` WAV chunks <= 25 s, `tools`, `tool_calls` deltas, `tts_content`).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import soundfile as sf
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

_TURN = re.compile(r"<\|BOT\|>([a-z_]+)\n(.*?)<\|EOT\|>", re.S)
_AUDIO = re.compile(r"<audio_(\d+)>")
CHAT_ROLES = {"system", "tool_json_schemas", "human", "assistant", "input"}


@dataclass
class Reply:
    """One scripted answer. `pieces` are streamed one per event; for step-audio-2 speech replies
    each piece also carries `audio[i]` tokens in `tts_content`."""

    pieces: list[str] = field(default_factory=list)
    audio: list[list[int]] = field(default_factory=list)
    tool_calls: list[tuple[str, list[str]]] = field(default_factory=list)  # name, arg fragments
    reasoning: list[str] = field(default_factory=list)  # R1 reasoning_content deltas, sent first
    finish_reason: str = "stop"
    status: int | None = None  # answer with this HTTP error instead
    error_after: int | None = None  # send an error event after this many pieces
    drop_after: int | None = None  # cut the connection after this many pieces
    first_delay_s: float = 0.0
    delay_s: float = 0.0
    garbage: bool = False  # a data line that is not JSON
    no_done: bool = False  # end the stream without [DONE]


@dataclass
class LoopbackState:
    flavour: str
    model: str
    replies: deque = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)  # rendered Step-Audio-Chat prompts
    finished: list[bool] = field(default_factory=list)  # False: the client went away early
    auto_tools: bool = True  # False: started without --enable-auto-tool-choice

    def reset(self) -> None:
        self.auto_tools = True
        self.replies.clear()
        self.requests.clear()
        self.prompts.clear()
        self.finished.clear()


class BadRequest(Exception):
    pass


def _error(status: int, message: str) -> JSONResponse:
    kind = "BadRequestError" if status == 400 else "NotFoundError" if status == 404 else "Error"
    return JSONResponse({"object": "error", "message": message, "type": kind, "param": None,
                         "code": status}, status_code=status)


def check_step_audio_chat_prompt(prompt: str) -> list[tuple[str, str]]:
    """What the model needs: whole turns, known roles, system first, tools second, audio tokens
    in range and only in the newest human turn, an open assistant turn at the end."""
    if not prompt.endswith("<|BOT|>assistant\n"):
        raise BadRequest("prompt must end with an open '<|BOT|>assistant\\n' turn")
    body = prompt[:-len("<|BOT|>assistant\n")]
    turns = _TURN.findall(body)
    if "".join(f"<|BOT|>{r}\n{c}<|EOT|>" for r, c in turns) != body:
        raise BadRequest("prompt holds text outside <|BOT|>role\\n...<|EOT|> turns")
    roles = [r for r, _ in turns]
    if not roles or roles[0] != "system":
        raise BadRequest("the first turn must be the system turn")
    for i, (role, content) in enumerate(turns):
        if role not in CHAT_ROLES:
            raise BadRequest(f"unknown role {role!r}")
        if role == "tool_json_schemas":
            if i != 1 or not isinstance(json.loads(content), list):
                raise BadRequest("tool_json_schemas must be a JSON list right after system")
        if "<|BOT|>" in content or "<|EOT|>" in content:
            raise BadRequest("a turn holds a nested control token")
    humans = [i for i, r in enumerate(roles) if r == "human"]
    for i, (role, content) in enumerate(turns):
        ids = [int(n) for n in _AUDIO.findall(content)]
        if ids and (role != "human" or i != humans[-1]):
            raise BadRequest(f"audio tokens in turn {i} ({role}); only the newest human turn may")
        if any(not 0 <= n < 5120 for n in ids):
            raise BadRequest("audio token out of range 0..5119")
    return turns


def _render_like_hf_template(messages: list[dict[str, Any]]) -> str:
    if messages and messages[0]["role"] != "system":
        messages = [{"role": "system", "content": "You are a helpful assistant."}, *messages]
    return "".join(f"<|BOT|>{m['role']}\n{m['content']}<|EOT|>" for m in messages) \
        + "<|BOT|>assistant\n"


def check_step_audio_2_request(body: dict[str, Any]) -> None:
    messages = body.get("messages") or []
    call_ids: set[str] = set()
    for m in messages:
        role = m.get("role")
        if role not in {"system", "human", "assistant", "input"}:
            raise BadRequest(f"role {role!r} is not in the Step-Audio 2 template "
                             "(system, human, assistant, input)")
        for call in m.get("tool_calls") or []:
            json.loads(call["function"]["arguments"])
            call_ids.add(call["id"])
        if role == "input" and m.get("tool_call_id") not in call_ids:
            raise BadRequest("an input (tool result) turn needs the tool_call_id of an "
                             "earlier call")
        content = m.get("content")
        for item in content if isinstance(content, list) else []:
            if item.get("type") == "input_audio":
                wav = base64.b64decode(item["input_audio"]["data"], validate=True)
                info = sf.info(io.BytesIO(wav))
                if info.samplerate != 16000 or info.channels != 1:
                    raise BadRequest("input_audio must be 16 kHz mono WAV")
                if info.frames / info.samplerate > 25.0:
                    raise BadRequest("input_audio chunk longer than 25 s")
    for tool in body.get("tools") or []:
        if tool.get("type") != "function" or "name" not in tool.get("function", {}):
            raise BadRequest("tools must be OpenAI function schemas")
    last = messages[-1] if messages else {}
    if body.get("continue_final_message"):
        if last.get("role") != "assistant" or body.get("add_generation_prompt", True):
            raise BadRequest("continue_final_message needs a final assistant message and "
                             "add_generation_prompt=false")


def create_app(flavour: str = "step-audio-chat", model: str = "step-audio-chat") -> FastAPI:
    app = FastAPI()
    state = LoopbackState(flavour, model)
    app.state.loopback = state

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": state.model, "object": "model",
                                            "owned_by": "vllm", "root": state.model}]}

    @app.post("/v1/completions")
    async def completions(request: Request):
        return await _handle(request, chat=False)

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        return await _handle(request, chat=True)

    async def _handle(request: Request, *, chat: bool):
        body = await request.json()
        state.requests.append(body)
        if body.get("model") != state.model:
            return _error(404, f"The model `{body.get('model')}` does not exist.")
        try:
            if state.flavour == "step-audio-2":
                if not chat:
                    raise BadRequest("Step-Audio 2 is served through /v1/chat/completions")
                check_step_audio_2_request(body)
                if body.get("tools") and body.get("tool_choice") == "auto" and not state.auto_tools:
                    raise BadRequest('"auto" tool choice requires --enable-auto-tool-choice and '
                                     "--tool-call-parser to be set")
            else:
                prompt = body["prompt"] if not chat else _render_like_hf_template(body["messages"])
                check_step_audio_chat_prompt(prompt)
                state.prompts.append(prompt)
        except (BadRequest, KeyError, ValueError, TypeError, RuntimeError) as exc:
            return _error(400, f"{type(exc).__name__}: {exc}")
        reply = state.replies.popleft() if state.replies else Reply(pieces=["Hello."])
        if reply.status is not None:
            return _error(reply.status, f"scripted failure {reply.status}")
        return StreamingResponse(_events(state, reply, chat=chat),
                                 media_type="text/event-stream")

    return app


def _chunk(state: LoopbackState, *, chat: bool, text: str | None = None,
           finish: str | None = None, **delta: Any) -> str:
    if chat:
        if text is not None:
            delta["content"] = text
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
    else:
        choice = {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}
    event = {"id": "cmpl-loopback", "object": "chat.completion.chunk" if chat else
             "text_completion", "created": int(time.time()), "model": state.model,
             "choices": [choice]}
    return f"data: {json.dumps(event, ensure_ascii=False)}\n\n"


async def _events(state: LoopbackState, reply: Reply, *, chat: bool):
    done = False
    try:
        await asyncio.sleep(reply.first_delay_s)
        if chat:
            yield _chunk(state, chat=True, role="assistant", text="")
        for thought in reply.reasoning:
            yield _chunk(state, chat=True, reasoning_content=thought)
        for i, piece in enumerate(reply.pieces):
            if i == reply.drop_after:
                raise ConnectionAbortedError("loopback: scripted connection cut")
            if i == reply.error_after:
                error = {"object": "error", "message": "engine died", "code": 500}
                yield f"data: {json.dumps(error)}\n\n"
                return
            if i and reply.delay_s:
                await asyncio.sleep(reply.delay_s)
            if reply.audio:
                audio = "".join(f"<audio_{n}>" for n in reply.audio[i])
                yield _chunk(state, chat=True, text=None,
                             tts_content={"tts_text": piece, "tts_audio": audio})
            else:
                yield _chunk(state, chat=chat, text=piece)
        if reply.garbage:
            yield "data: {not json\n\n"
        for index, (name, fragments) in enumerate(reply.tool_calls):
            yield _chunk(state, chat=True, tool_calls=[{
                "index": index, "id": f"call_lb{index}", "type": "function",
                "function": {"name": name, "arguments": ""}}])
            for fragment in fragments:
                yield _chunk(state, chat=True, tool_calls=[{
                    "index": index, "function": {"arguments": fragment}}])
        if reply.drop_after is not None and reply.drop_after >= len(reply.pieces):
            raise ConnectionAbortedError("loopback: scripted connection cut")
        yield _chunk(state, chat=chat, finish=reply.finish_reason)
        if not reply.no_done:
            yield "data: [DONE]\n\n"
        done = True
    finally:
        state.finished.append(done)
