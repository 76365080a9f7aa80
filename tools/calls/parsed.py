"""Backend-neutral tool-call types: what a parser found in a model's output.

They live in `tools` (not `agent`) so parsers, plugins and tests need nothing else; the
agent converts a `ParsedToolCall` to its own `ToolCall` field by field (same names).
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tools.result import ToolResult


def new_call_id() -> str:
    """An id in the OpenAI style, for formats (Step-Audio, Qwen) whose calls carry none."""
    return f"call_{uuid.uuid4().hex[:24]}"


class ParsedToolCall(BaseModel):
    """One well-formed call: a known tool name and a JSON object of arguments.

    The arguments are not validated here; `Tool.invoke` does that and explains problems.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    id: str = Field(default_factory=new_call_id)


class MalformedToolCall(BaseModel):
    """A call the model clearly meant to make but whose JSON could not be read.

    It is not dropped: `as_result()` gives the model an error it can correct on its next
    round, which is what a person would do ("I didn't catch that, say it again").
    """

    model_config = ConfigDict(frozen=True)

    name: str | None
    raw: str
    message: str
    id: str = Field(default_factory=new_call_id)

    def as_result(self) -> ToolResult:
        shown = self.raw if len(self.raw) <= 200 else self.raw[:197] + "..."
        target = f"tool {self.name!r}" if self.name else "a tool"
        return ToolResult(
            name=self.name or "unknown",
            call_id=self.id,
            arguments={},
            content=(
                f"Your call to {target} could not be read: {self.message}. You sent: {shown}. "
                "Send the call again with the arguments as one JSON object."
            ),
            is_error=True,
            latency_ms=0.0,
        )


class ParsedReply(BaseModel):
    """A model reply split into what is said and what is called.

    `text` is everything that is not a recognised call (with calls present it is the filler
    sentence the model spoke first, e.g. "Let me check that."); calls to tools that do not
    exist stay in `text`, so a model that merely talks about JSON is not executed.
    """

    text: str = ""
    calls: list[ParsedToolCall] = Field(default_factory=list)
    malformed: list[MalformedToolCall] = Field(default_factory=list)

    @property
    def has_calls(self) -> bool:
        return bool(self.calls or self.malformed)
