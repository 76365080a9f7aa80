"""`OpenAIChatModel`: any OpenAI-compatible chat server as the agent's LLM.

    stepvox chat --model openai --base-url http://gpu-box:8000/v1 --text "What time is it?"
    STEPVOX_LLM_URL=http://gpu-box:8000/v1 stepvox serve

vLLM, SGLang, llama.cpp's server (C++ or llama-cpp-python's), Ollama and hosted APIs all
take the same streamed `/v1/chat/completions` request; this backend sends the tools and
`tool_choice`, speaks the content as it streams and turns `tool_calls` deltas (parallel calls
included) into `ToolCallEvent`s. Reasoning never reaches the speaker: a `reasoning_content` /
`reasoning` field is dropped, and so is a `<think>` block a server leaves in the content.
A server without a tool-call parser leaves the model's calls in the content as text
(`<tool_call>{...}</tool_call>` or bare JSON, as Qwen writes them); those are parsed here
too, and held back from speech.

A server that is down, refuses the request or stays silent past `first_token_timeout_s`
raises a named `ModelBackendError`; the turn graph turns that into a spoken apology and keeps
the turn (`agent.turn.apology`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.chat_model import (
    ChatEvent, ChatMessage, ModelDone, TextDelta, ToolCall, ToolCallEvent, ToolCallPending,
    ToolChoice,
)
from agent.errors import ModelBackendError
from agent.backends.openai.reply import StreamedCalls, ThinkStripper, repaired_json, sanitised_call
from agent.backends.openai.sse import OpenAIStreamClient
from agent.backends.step_audio.errors import (
    MalformedStreamError, ServerTimeoutError, ServerUnreachableError, StreamCutError,
)
from tools.calls.parsed import ParsedReply
from tools.calls.text_stream import TextCallStream

log = logging.getLogger(__name__)

# Where servers put a reasoning model's thinking: vLLM < 0.10, SGLang, llama.cpp and
# DeepSeek use `reasoning_content`; newer vLLM, Ollama and OpenRouter use `reasoning`.
REASONING_FIELDS = ("reasoning_content", "reasoning")


class OpenAIChatSettings(BaseSettings):
    """Arguments win; the rest can be set as STEPVOX_OPENAI_* variables (e.g.
    STEPVOX_OPENAI_API_KEY, STEPVOX_OPENAI_FIRST_TOKEN_TIMEOUT_S) with no code change."""

    model_config = SettingsConfigDict(env_prefix="STEPVOX_OPENAI_", extra="ignore")

    base_url: str = Field(description="the server's OpenAI-compatible URL, ending in /v1")
    model: str | None = Field(
        None, description="the served model name; None = the one GET /v1/models lists")
    api_key: str | None = None
    temperature: float = Field(0.3, ge=0.0, le=2.0)
    max_tokens: int = Field(256, gt=0, description="longest reply (a voice reply is short)")
    parallel_tool_calls: bool = True
    # Qwen3-style templates think unless told not to; vLLM, SGLang and llama.cpp pass this
    # to the chat template, the others ignore it. False sends nothing.
    disable_thinking: bool = True
    connect_timeout_s: float = Field(5.0, gt=0)
    # From sending the request to the first token: a caller is waiting in silence. Covers
    # the model-name look-up and prompt processing of a long history too.
    first_token_timeout_s: float = Field(20.0, gt=0)
    read_timeout_s: float = Field(30.0, gt=0, description="longest gap between tokens")
    # Appended to each tool result: without it a small model (the packaged 0.5B) reads the
    # result's JSON back instead of answering, or calls the tool again. "" sends it bare.
    after_tool_result: str = ("Now answer my question in plain spoken words, using the result "
                              "above.")
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description="more request fields (e.g. top_k, min_p)")


def wire_messages(messages: Sequence[ChatMessage], after_tool_result: str = "",
                  ) -> list[dict[str, Any]]:
    """Our messages in the OpenAI chat format."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "assistant" and m.tool_calls:
            # "" rather than null: llama-cpp-python's server refuses a null content.
            out.append({"role": "assistant", "content": m.content, "tool_calls": [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": _arguments_text(c.arguments)}}
                for c in m.tool_calls]})
        elif m.role == "tool":
            # No `name`: OpenAI's schema has none for tool messages and strict servers refuse
            # unknown fields; the id ties the result to its call.
            content = f"{m.content}\n\n{after_tool_result}" if after_tool_result else m.content
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": content})
        else:
            out.append({"role": m.role, "content": m.content})
    return out


def _arguments_text(arguments: Any) -> str:
    # A call whose JSON could not be read carries the raw text (agent.backends.openai.reply).
    return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)


def _tool_names(tools: Sequence[dict[str, Any]]) -> set[str]:
    return {t["function"]["name"] for t in tools if isinstance(t.get("function"), dict)}


class OpenAIChatModel:
    """A `ChatModel` over an OpenAI-compatible `/v1/chat/completions` stream."""

    def __init__(self, settings: OpenAIChatSettings | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None, **overrides: Any) -> None:
        base = settings.model_dump(exclude_unset=True) if settings is not None else {}
        # The constructor (not model_validate) so STEPVOX_OPENAI_* fill what is not given.
        self.settings = OpenAIChatSettings(**{**base, **overrides})
        s = self.settings
        self.name = f"openai:{s.model or '?'}@{s.base_url}"
        self.client = OpenAIStreamClient(s.base_url, api_key=s.api_key,
                                         connect_timeout_s=s.connect_timeout_s,
                                         read_timeout_s=s.read_timeout_s, transport=transport)
        self._served: str | None = s.model

    async def served_model(self) -> str:
        """The model name to send: the configured one, else the server's (asked once)."""
        if self._served is None:
            listing = await self.client.get_json("/models")
            data = listing.get("data") if isinstance(listing, dict) else None
            names = [m["id"] for m in data or () if isinstance(m, dict) and m.get("id")]
            if not names:
                raise MalformedStreamError(
                    f"{self.client.base_url}/models lists no models ({str(listing)[:200]}); "
                    "pass --served-name with the model's name.")
            if len(names) > 1:  # Ollama lists every pulled model
                log.warning("%s serves %d models, using %r; pass --served-name (one of %s) "
                            "to choose", self.client.base_url, len(names), names[0],
                            ", ".join(names))
            self._served = names[0]
            self.name = f"openai:{self._served}@{self.settings.base_url}"
        return self._served

    def request(self, model: str, messages: Sequence[ChatMessage],
                tools: Sequence[dict[str, Any]], tool_choice: ToolChoice) -> dict[str, Any]:
        s = self.settings
        body: dict[str, Any] = {
            "model": model, "messages": wire_messages(messages, s.after_tool_result),
            "temperature": s.temperature, "max_tokens": s.max_tokens}
        if tools:
            # Sent with "none" too: the tools stay in the prompt, so a server's prefix cache
            # stays valid between rounds (the ChatModel contract).
            body.update(tools=list(tools), tool_choice=tool_choice)
            if s.parallel_tool_calls and tool_choice != "none":
                body["parallel_tool_calls"] = True
        if s.disable_thinking:
            body["chat_template_kwargs"] = {"enable_thinking": False}
        return {**body, **s.extra_body}

    async def prefill(self, system_prompt: str, tools: Sequence[dict[str, Any]] = ()) -> None:
        """Called by `VoiceAgent.warm_up`: learn the served name now and say early, in the
        log, when the server is not there; never raises (a turn reports it again)."""
        try:
            async with asyncio.timeout(self.settings.first_token_timeout_s):
                name = await self.served_model()
            log.info("LLM server at %s serves %s", self.settings.base_url, name)
        except (ModelBackendError, TimeoutError) as exc:
            log.warning("the LLM server at %s is not usable yet: %s", self.settings.base_url,
                        str(exc) or "no answer in time")

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[dict[str, Any]] = (),
        *,
        tool_choice: ToolChoice = "auto",
    ) -> AsyncIterator[ChatEvent]:
        s = self.settings
        events: AsyncIterator[dict[str, Any]] | None = None
        head: list[dict[str, Any]] = []
        try:
            # No yield inside: the deadline must not outlive this await (asyncio.timeout
            # belongs to the task that entered it, and a consumer may switch tasks).
            async with asyncio.timeout(s.first_token_timeout_s):
                model = await self.served_model()
                events = self.client.stream("/chat/completions",
                                            self.request(model, messages, tools, tool_choice))
                head = await _until_output(events)
        except httpx.HTTPError as exc:  # what OpenAIStreamClient does not name (WriteError)
            raise ServerUnreachableError(
                f"Sending the request to {s.base_url} failed: {type(exc).__name__}: {exc}") \
                from exc
        except TimeoutError as exc:
            if events is not None:
                await events.aclose()
            raise ServerTimeoutError(
                f"The LLM server at {s.base_url} sent no token within "
                f"{s.first_token_timeout_s:g} s (first_token_timeout_s). It may be overloaded, "
                "still loading the model, or the prompt is too long for it.") from exc
        assert events is not None
        try:
            async for event in self._events(head, events, tools, tool_choice):
                yield event
        except httpx.HTTPError as exc:
            raise StreamCutError(f"The reply stream from {s.base_url} failed: "
                                 f"{type(exc).__name__}: {exc}") from exc
        finally:
            await events.aclose()  # the caller stopped (barge-in): the server stops too

    async def _events(self, head: list[dict[str, Any]], events: AsyncIterator[dict[str, Any]],
                      tools: Sequence[dict[str, Any]], tool_choice: ToolChoice,
                      ) -> AsyncIterator[ChatEvent]:
        thinking, calls = ThinkStripper(), StreamedCalls()
        known = _tool_names(tools)
        text_calls = TextCallStream(known)
        reasoning: list[str] = []
        spoken: list[str] = []
        finish, usage = "stop", {}

        async def chunks() -> AsyncIterator[dict[str, Any]]:
            for event in head:
                yield event
            async for event in events:
                yield event

        try:
            async for event in chunks():
                usage = event.get("usage") or usage
                for choice in event.get("choices") or ():
                    delta = choice.get("delta") or {}
                    reasoning += [delta[f] for f in REASONING_FIELDS
                                  if isinstance(delta.get(f), str)]
                    content = delta.get("content")
                    if isinstance(content, str) and content:
                        piece = text_calls.feed(thinking.feed(content))
                        if piece:
                            spoken.append(piece)
                            yield TextDelta(piece)
                    for name in calls.add(delta.get("tool_calls") or ()):
                        if tool_choice != "none":
                            yield ToolCallPending(name)
                    finish = choice.get("finish_reason") or finish
        except StreamCutError as exc:
            exc.partial_text = "".join(spoken)
            raise
        # The end: a held piece that was not a tag, then whatever the text-call parser kept.
        held = thinking.finish()
        if held:
            piece = text_calls.feed(held)
            if piece:
                spoken.append(piece)
                yield TextDelta(piece)
        end = text_calls.finish()
        if end.tail and _only_json(end.tail):
            # Data, not speech (a small model echoing a tool result): a minute of braces
            # read aloud is worse than the graph's "no answer" line.
            log.warning("not speaking the model's JSON reply: %s", end.tail[:200])
        elif end.tail:
            joined = not spoken or spoken[-1][-1:].isspace()  # finish() strips the tail
            tail = end.tail if joined else " " + end.tail
            spoken.append(tail)
            yield TextDelta(tail)
        found = calls.calls() + _from_text(end.reply)
        raw: dict[str, Any] = {"usage": usage, "reasoning": "".join(reasoning + thinking.thought),
                               "server_finish_reason": finish}
        if tool_choice == "none" and found:
            raw["ignored_tool_calls"] = [c.name for c in found]
            found = []
        for call in found:
            yield ToolCallEvent(call)
        yield ModelDone(finish_reason="tool_calls" if found else finish, raw=raw)


def _from_text(reply: ParsedReply) -> list[ToolCall]:
    """Calls the model wrote as text, parsed by `tools.calls.text_parser`."""
    out = [ToolCall(id=c.id, name=c.name, arguments=c.arguments) for c in reply.calls]
    for bad in reply.malformed:
        if bad.name:  # the tool's own argument check explains the JSON problem to the model
            # `raw` is the whole `{"name": .., "arguments": ..}` of a tagged call.
            whole = repaired_json(bad.raw)
            raw = (whole.get("arguments", whole.get("parameters")) if isinstance(whole, dict)
                   and whole.get("name") == bad.name else bad.raw)
            out.append(sanitised_call(bad.name, raw, bad.id))
        else:
            log.warning("dropped a tool call without a readable name: %s", bad.raw[:200])
    return out


def _only_json(text: str) -> bool:
    """Whether `text` is nothing but JSON objects or arrays, one after another."""
    decoder, at, found = json.JSONDecoder(), 0, False
    text = text.strip()
    while at < len(text):
        if text[at] not in "{[":
            return False
        try:
            _, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            return False
        found = True
        while at < len(text) and text[at].isspace():
            at += 1
    return found


def _has_output(event: dict[str, Any]) -> bool:
    for choice in event.get("choices") or ():
        delta = choice.get("delta") or {}
        if (delta.get("content") or delta.get("tool_calls") or choice.get("finish_reason")
                or any(delta.get(f) for f in REASONING_FIELDS)):
            return True
    return False


async def _until_output(events: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stream's events up to the first that carries output (servers send a role-only
    chunk first, some before the prompt is even processed)."""
    head: list[dict[str, Any]] = []
    async for event in events:
        head.append(event)
        if _has_output(event):
            break
    return head
