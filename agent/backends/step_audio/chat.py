"""`StepAudioChatModel`: Step-Audio-Chat (130B) served by vLLM behind an OpenAI-compatible API.

Step-Audio-Chat takes text and `<audio_N>` speech tokens (tokenized on the client, see
`speech.step_audio.tokenizer`) and answers in text, which may hold a Step-Audio tool call.
By default the prompt is rendered here and sent to `/v1/completions`, so the exact template of
spec section 3 reaches the model whatever chat template the server was started with;
`api="chat"` sends role-tagged messages to `/v1/chat/completions` instead.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field

from agent.chat_model import ChatEvent, ChatMessage, ModelDone, TextDelta, ToolCallEvent, ToolChoice
from agent.errors import EmptyTurnError
from agent.backends.openai.sse import OpenAIStreamClient
from agent.backends.step_audio.errors import StreamCutError
from agent.backends.step_audio.prompt import EOT, chat_messages, render_prompt
from agent.backends.step_audio.tool_text import CallPiece, ToolCallSplitter
from speech.audio import AudioClip
from speech.protocols import SpeechTokenizer

# A leading style tag such as "(高兴1)" or "（粤语）" (spec section 4); kept in the text because
# the Step-Audio TTS reads it, and reported in ModelDone.raw for captions and logs.
_STYLE_TAG = re.compile(r"^\s*([（(][^()（）]{1,12}[）)])")


class StepAudioChatSettings(BaseModel):
    """What the backend needs; the repo's sampling defaults (spec section 3)."""

    base_url: str = Field(description="OpenAI-compatible base URL, e.g. http://host:8000/v1")
    model: str = "step-audio-chat"
    api: Literal["completions", "chat"] = "completions"
    api_key: str | None = None
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    max_tokens: int = Field(2048, gt=0)
    connect_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(60.0, gt=0)


class StepAudioChatModel:
    """A `ChatModel` over a vLLM server running Step-Audio-Chat.

    The newest user turn may already hold `<audio_N>` tokens, or `stream(..., audio=clip)`
    tokenizes the clip with `tokenizer` (a `StepAudioTokenizer`) and puts the tokens first in
    that turn.
    """

    def __init__(self, settings: StepAudioChatSettings | None = None, *,
                 tokenizer: SpeechTokenizer | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, **overrides: Any) -> None:
        self.tokenizer = tokenizer
        base = settings.model_dump() if settings is not None else {}
        self.settings = StepAudioChatSettings.model_validate({**base, **overrides})
        s = self.settings
        self.name = f"step-audio-chat:{s.model}@{s.base_url}"
        self.client = OpenAIStreamClient(s.base_url, api_key=s.api_key,
                                         connect_timeout_s=s.connect_timeout_s,
                                         read_timeout_s=s.read_timeout_s, transport=transport)

    @property
    def accepts_audio(self) -> bool:
        """Whether stream(..., audio=clip) works: only with a tokenizer for the clip."""
        return self.tokenizer is not None

    def request(self, messages: Sequence[ChatMessage],
                tools: Sequence[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        """(path, JSON body) of the request for these messages; public for tests and doctor."""
        s = self.settings
        body: dict[str, Any] = {
            "model": s.model, "temperature": s.temperature, "top_p": s.top_p,
            "max_tokens": s.max_tokens, "stop": [EOT],
            # <audio_N> and the role markers are special tokens; keep them visible.
            "skip_special_tokens": False,
        }
        if s.api == "completions":
            return "/completions", {**body, "prompt": render_prompt(messages, tools)}
        return "/chat/completions", {**body, "messages": chat_messages(messages, tools)}

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[dict[str, Any]] = (),
        *,
        tool_choice: ToolChoice = "auto",
        audio: AudioClip | None = None,
    ) -> AsyncIterator[ChatEvent]:
        if audio is not None:
            messages = await self._with_audio_tokens(messages, audio)
        # Tools stay in the prompt even with tool_choice="none" (the prefix stays cacheable);
        # a call the model writes anyway is dropped and reported, never run.
        path, body = self.request(messages, tools)
        splitter = ToolCallSplitter()
        text: list[str] = []
        ignored: list[dict[str, Any]] = []
        calls: list[str] = []
        finish = "stop"
        usage: dict[str, Any] = {}

        def emit(pieces) -> list[ChatEvent]:
            events: list[ChatEvent] = []
            for piece in pieces:
                if isinstance(piece, CallPiece):
                    if tool_choice == "none":
                        ignored.append(piece.call.model_dump())
                    else:
                        calls.append(piece.call.name)
                        events.append(ToolCallEvent(piece.call))
                elif piece.text:
                    text.append(piece.text)
                    events.append(TextDelta(piece.text))
            return events

        try:
            async for event in self.client.stream(path, body):
                usage = event.get("usage") or usage
                for choice in event.get("choices") or ():
                    delta = choice.get("text")
                    if delta is None:
                        delta = (choice.get("delta") or {}).get("content")
                    for out in emit(splitter.feed(delta or "")):
                        yield out
                    finish = choice.get("finish_reason") or finish
        except StreamCutError as exc:
            exc.partial_text = "".join(text)
            raise
        for out in emit(splitter.finish()):
            yield out
        reply = "".join(text)
        raw: dict[str, Any] = {"usage": usage}
        if (tag := _STYLE_TAG.match(reply)) is not None:
            raw["style_tag"] = tag.group(1)
        if ignored:
            raw["ignored_tool_calls"] = ignored
        yield ModelDone(finish_reason="tool_calls" if calls else finish, raw=raw)

    async def _with_audio_tokens(self, messages: Sequence[ChatMessage],
                                 audio: AudioClip) -> list[ChatMessage]:
        if self.tokenizer is None:
            raise EmptyTurnError(
                "Step-Audio-Chat hears audio only as <audio_N> tokens: give StepAudioChatModel a "
                "tokenizer (StepAudioTokenizer.from_dir(...)) or pass text.")
        last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
        if last is None:
            raise EmptyTurnError("audio was given but there is no user turn to attach it to")
        tokens = (await self.tokenizer.transcribe(audio)).audio_tokens or ""
        if not tokens:
            raise EmptyTurnError("the tokenizer found no whole 120 ms of speech in the audio")
        out = list(messages)
        text = out[last].content.strip()
        out[last] = out[last].model_copy(update={"content": tokens + (f"\n{text}" if text else "")})
        return out
