"""The `ChatModel` seam: messages + tool schemas in, a stream of text and tool-call events out.

Every LLM backend (the embedded llama.cpp model, vLLM serving Step-Audio, StepFun Realtime, test
fakes) implements `stream`. Events are small slotted dataclasses because they are created per
token on the audio path; messages are pydantic because they cross into memory and the prompt.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field


def new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:12]


class ToolCall(BaseModel):
    """A model's request to run one tool."""

    id: str = Field(default_factory=new_call_id)
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ChatMessage(BaseModel):
    """One message of the prompt. `tool` messages carry a tool's result for `tool_call_id`."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(slots=True)
class TextDelta:
    """A piece of reply text, in order."""

    text: str


@dataclass(slots=True)
class ToolCallPending:
    """The model has decided to call `name` and is still writing the arguments. Optional: a
    backend that knows early (the embedded one decides before generating the arguments)
    sends it so the agent can start a filler meanwhile; the `ToolCallEvent` follows."""

    name: str


@dataclass(slots=True)
class TurnEndEstimate:
    """How likely the user's words so far are a finished turn (0..1), read by the model
    before it answers. Optional and first in the stream: a realtime controller that runs a
    speculative reply during a pause uses it to end the turn early or to wait longer
    (`semantic_vad`); everyone else ignores it."""

    probability: float


@dataclass(slots=True)
class ToolCallEvent:
    """A complete tool call (arguments already parsed)."""

    call: ToolCall


@dataclass(slots=True)
class ModelDone:
    """End of one model reply; `raw` keeps backend details (token counts, finish reason)."""

    finish_reason: str = "stop"
    raw: dict[str, Any] = field(default_factory=dict)


ChatEvent = TextDelta | TurnEndEstimate | ToolCallPending | ToolCallEvent | ModelDone
ToolChoice = Literal["auto", "none"]


@runtime_checkable
class ChatModel(Protocol):
    """A language-model backend.

    `stream` yields `TextDelta`s and `ToolCallEvent`s in the order the model produced them
    (text may precede a tool call: a filler sentence) and ends with one `ModelDone`. A consumer
    may stop iterating at any time (barge-in); the backend must then stop generating.
    `tool_choice="none"` keeps the tools in the prompt (so a cached prefix stays valid) but
    forbids calling them, as the OpenAI API does.
    """

    name: str

    def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[dict[str, Any]] = (),
        *,
        tool_choice: ToolChoice = "auto",
    ) -> AsyncIterator[ChatEvent]: ...


@runtime_checkable
class AnticipatingChatModel(Protocol):
    """A backend that can get ready for the next user turn before its words are known: it is
    given the conversation so far (system first) once a reply has played out and when the
    user starts speaking, and does what it can ahead (llama.cpp evaluates the prompt up to
    where the words go). Optional:
    the realtime loop calls it where a backend has it, never waits on it, and a turn that
    comes out differently (other history, a persona lore entry the words trigger) is still
    answered right, only without the head start."""

    async def anticipate(self, messages: Sequence[ChatMessage],
                         tools: Sequence[dict[str, Any]] = ()) -> bool: ...


async def complete_text(chat_model: ChatModel, messages: Sequence[ChatMessage]) -> str:
    """The model's whole text answer with no tools offered (summaries, fact extraction).
    The stream is closed on the way out, so a local model stops generating when the caller
    is cancelled (a summary cut short by the next turn)."""
    stream = chat_model.stream(messages, (), tool_choice="none")
    parts: list[str] = []
    try:
        async for event in stream:
            if isinstance(event, TextDelta):
                parts.append(event.text)
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
    return "".join(parts)
