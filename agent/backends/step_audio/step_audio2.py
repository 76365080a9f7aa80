"""`StepAudio2Model`: Step-Audio 2 mini / Step-Audio-R1 on StepFun's vLLM fork (spec section 8).

Unlike Step-Audio-Chat, the server hears audio itself: the newest user turn goes up as base64
16 kHz mono WAV `input_audio` chunks of at most 25 s. Tools use the OpenAI fields (`tools`,
`tool_calls` deltas); a tool result is a turn of role `input` with its `tool_call_id`.
With `speech_output=True` the reply is continued from `<tts_start>` and carries `tts_content`
(text + `<audio_N>` tokens); the tokens go to an `AudioTokenSink` (the token-to-wave seam) as
they arrive and are also returned in `ModelDone.raw["tts_audio_tokens"]`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import httpx
from pydantic import BaseModel, Field

from agent.chat_model import (
    ChatEvent, ChatMessage, ModelDone, TextDelta, ToolCall, ToolCallEvent, ToolChoice,
)
from agent.backends.openai.sse import OpenAIStreamClient
from agent.backends.step_audio.errors import AudioChunkTooLongError, MalformedToolCallError, StreamCutError
from agent.backends.step_audio.prompt import AFTER_TOOL_RESULT
from agent.backends.step_audio.tool_text import CallPiece, ToolCallSplitter, parse_tool_call_body
from speech.audio import AudioClip
from speech.step_audio.tokens import AudioTokenTextBuffer

TTS_START = "<tts_start>"
_MARKERS = (TTS_START, "<tts_end>")
INPUT_RATE = 16_000


class StepAudio2Settings(BaseModel):
    base_url: str = Field(description="OpenAI-compatible base URL, e.g. http://host:8000/v1")
    model: str = "step-audio-2-mini"
    api_key: str | None = None
    speech_output: bool = False
    # StepFun's vLLM fork names the user "human"; SGLang's step_audio_2 parsers take "user".
    user_role: Literal["human", "user"] = "human"
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    repetition_penalty: float = Field(1.05, gt=0.0)
    max_tokens: int = Field(2048, gt=0)
    max_chunk_s: float = Field(25.0, gt=0.0, le=25.0)
    split_long_audio: bool = True  # False: audio over max_chunk_s is an AudioChunkTooLongError
    max_audio_s: float = Field(300.0, gt=0.0)
    connect_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(60.0, gt=0)


@runtime_checkable
class AudioTokenSink(Protocol):
    """Receives reply audio tokens as they stream (e.g. a CosyVoice 2 token-to-wave decoder)."""

    async def feed(self, tokens: Sequence[int]) -> None: ...

    async def end(self, *, complete: bool) -> None: ...


def audio_chunks(clip: AudioClip, settings: StepAudio2Settings) -> list[dict[str, Any]]:
    """`clip` as `input_audio` content items: 16 kHz mono WAV, each <= max_chunk_s."""
    if clip.duration_s > settings.max_audio_s:
        raise AudioChunkTooLongError(
            f"The audio lasts {clip.duration_s:.1f} s, more than the {settings.max_audio_s:g} s "
            "allowed per turn. Trim it or raise max_audio_s.")
    if clip.duration_s > settings.max_chunk_s and not settings.split_long_audio:
        raise AudioChunkTooLongError(
            f"The audio lasts {clip.duration_s:.1f} s; Step-Audio 2 takes at most "
            f"{settings.max_chunk_s:g} s per input_audio chunk. Enable split_long_audio or "
            "send shorter turns.")
    clip = clip.resampled(INPUT_RATE)
    step = int(settings.max_chunk_s * INPUT_RATE)
    items = []
    for start in range(0, len(clip.samples), step):
        piece = AudioClip(clip.samples[start:start + step], INPUT_RATE)
        data = base64.b64encode(piece.to_wav_bytes()).decode("ascii")
        items.append({"type": "input_audio", "input_audio": {"data": data, "format": "wav"}})
    return items


def server_messages(messages: Sequence[ChatMessage], audio: AudioClip | None,
                    settings: StepAudio2Settings) -> list[dict[str, Any]]:
    """Our messages in the fork's roles; the audio joins the newest user turn, before its text
    (the order the model was trained on)."""
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    if audio is not None and last_user < 0:
        raise ValueError("audio was given but there is no user turn to attach it to")
    out: list[dict[str, Any]] = []
    for i, m in enumerate(messages):
        if m.role == "user":
            if i == last_user and audio is not None:
                content: Any = audio_chunks(audio, settings)
                if m.content.strip():
                    content.append({"type": "text", "text": m.content})
            else:
                content = m.content
            out.append({"role": settings.user_role, "content": content})
        elif m.role == "assistant":
            entry: dict[str, Any] = {"role": "assistant", "content": m.content}
            if m.tool_calls:
                entry["tool_calls"] = [{"id": c.id, "type": "function", "function": {
                    "name": c.name, "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
                    for c in m.tool_calls]
            out.append(entry)
        elif m.role == "tool":
            out.append({"role": "input", "tool_call_id": m.tool_call_id, "content": [
                {"type": "text", "text": f"{m.content}\n\n{AFTER_TOOL_RESULT}"}]})
        else:
            out.append({"role": "system", "content": m.content})
    return out


class _CallAccumulator:
    """OpenAI streamed tool calls: id and name first, then argument fragments by index. Some
    fork versions resend the whole argument string each time, so both styles are accepted."""

    def __init__(self) -> None:
        self.calls: dict[int, dict[str, Any]] = {}

    def add(self, deltas: Sequence[dict[str, Any]]) -> None:
        for d in deltas:
            call = self.calls.setdefault(int(d.get("index", 0)), {"id": None, "name": "",
                                                                  "fragments": []})
            call["id"] = d.get("id") or call["id"]
            fn = d.get("function") or {}
            call["name"] = fn.get("name") or call["name"]
            if fn.get("arguments"):
                call["fragments"].append(fn["arguments"])

    def finish(self) -> list[ToolCall]:
        out = []
        for _, c in sorted(self.calls.items()):
            if not c["name"]:
                raise MalformedToolCallError(f"a streamed tool call has no function name: {c}")
            body = "".join(c["fragments"])
            if c["fragments"] and _is_json(c["fragments"][-1]) and not _is_json(body):
                body = c["fragments"][-1]  # cumulative style
            call = parse_tool_call_body(json.dumps({"name": c["name"], "arguments": body or "{}"}))
            out.append(call.model_copy(update={"id": c["id"]}) if c["id"] else call)
        return out


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


class StepAudio2Model:
    """A `ChatModel` over StepFun's vLLM fork; `stream` also takes the user's `audio`."""

    accepts_audio = True  # stream(..., audio=clip) sends the clip itself

    def __init__(self, settings: StepAudio2Settings | None = None, *,
                 audio_sink: AudioTokenSink | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, **overrides: Any) -> None:
        base = settings.model_dump() if settings is not None else {}
        self.settings = StepAudio2Settings.model_validate({**base, **overrides})
        s = self.settings
        self.name = f"step-audio-2:{s.model}@{s.base_url}"
        self.audio_sink = audio_sink
        self.client = OpenAIStreamClient(s.base_url, api_key=s.api_key,
                                         connect_timeout_s=s.connect_timeout_s,
                                         read_timeout_s=s.read_timeout_s, transport=transport)

    def request(self, messages: Sequence[ChatMessage], tools: Sequence[dict[str, Any]],
                tool_choice: ToolChoice = "auto", audio: AudioClip | None = None) -> dict[str, Any]:
        s = self.settings
        body: dict[str, Any] = {
            "model": s.model, "messages": server_messages(messages, audio, s),
            "temperature": s.temperature, "top_p": s.top_p, "max_tokens": s.max_tokens,
            "repetition_penalty": s.repetition_penalty,
        }
        if tools:
            body.update(tools=list(tools), tool_choice=tool_choice, parallel_tool_calls=False)
        if s.speech_output:  # continue an assistant turn opened with <tts_start>
            body["messages"].append({"role": "assistant", "content": TTS_START})
            body.update(continue_final_message=True, add_generation_prompt=False,
                        skip_special_tokens=False)
        else:
            body.update(continue_final_message=False, add_generation_prompt=True)
        return body

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[dict[str, Any]] = (),
        *,
        tool_choice: ToolChoice = "auto",
        audio: AudioClip | None = None,
    ) -> AsyncIterator[ChatEvent]:
        body = self.request(messages, tools, tool_choice, audio)
        splitter, calls, audio_text = ToolCallSplitter(), _CallAccumulator(), AudioTokenTextBuffer()
        text: list[str] = []
        reasoning: list[str] = []  # R1's thinking (vLLM --reasoning-parser): logged, never spoken
        audio_tokens: list[int] = []
        text_calls: list[ToolCall] = []
        finish, usage, complete = "stop", {}, False
        try:
            async for event in self.client.stream("/chat/completions", body):
                usage = event.get("usage") or usage
                for choice in event.get("choices") or ():
                    delta = choice.get("delta") or {}
                    reasoning.append(delta.get("reasoning_content") or "")
                    tts = delta.get("tts_content") or {}
                    piece = tts.get("tts_text") or delta.get("content") or ""
                    for marker in _MARKERS:
                        piece = piece.replace(marker, "")
                    for out in splitter.feed(piece):  # a server without the tool parser
                        if isinstance(out, CallPiece):
                            text_calls.append(out.call)
                        elif out.text:
                            text.append(out.text)
                            yield TextDelta(out.text)
                    if tts.get("tts_audio"):
                        tokens = audio_text.feed(tts["tts_audio"])
                        audio_tokens += tokens
                        if tokens and self.audio_sink is not None:
                            await self.audio_sink.feed(tokens)
                    calls.add(delta.get("tool_calls") or ())
                    finish = choice.get("finish_reason") or finish
            for out in splitter.finish():
                if isinstance(out, CallPiece):
                    text_calls.append(out.call)
                elif out.text:
                    text.append(out.text)
                    yield TextDelta(out.text)
            complete = True
        except StreamCutError as exc:
            exc.partial_text = "".join(text)
            raise
        finally:
            if self.audio_sink is not None:
                await self.audio_sink.end(complete=complete)
        all_calls = calls.finish() + text_calls
        raw: dict[str, Any] = {"usage": usage, "tts_text": "".join(text),
                               "tts_audio_tokens": audio_tokens, "reasoning": "".join(reasoning)}
        if tool_choice == "none" and all_calls:
            raw["ignored_tool_calls"] = [c.model_dump() for c in all_calls]
            all_calls = []
        for call in all_calls:
            yield ToolCallEvent(call)
        yield ModelDone(finish_reason="tool_calls" if all_calls else finish, raw=raw)
