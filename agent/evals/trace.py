"""What happened on one simulated call, turn by turn: the record that scoring and the policy
rules read, and that the JSON lines keep for later inspection."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

EndReason = Literal["caller_done", "caller_gave_up", "script_done", "turn_limit", "error"]
CallPath = Literal["text", "voice", "realtime"]


class ToolCallRecord(BaseModel):
    """One call the agent made, with what came of it."""

    turn: int
    name: str
    arguments: dict[str, Any]
    requires_approval: bool
    declined: bool  # an approval tool the caller did not say yes to: nothing ran
    is_error: bool  # refused by the tool, bad arguments, or declined
    content: str

    @property
    def succeeded(self) -> bool:
        return not self.is_error and not self.declined


class ApprovalAsk(BaseModel):
    """The agent paused a change and asked the caller for a yes or no."""

    tool: str
    arguments: dict[str, Any]
    question: str


class CallTurn(BaseModel):
    index: int
    caller_text: str  # what the caller meant to say
    heard: str  # what the agent understood (the ASR transcript in --voice mode)
    agent_text: str
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    approval: ApprovalAsk | None = None
    latency_ms: float  # from the end of the caller's words to the end of the agent's turn
    first_audio_ms: float | None = None  # --voice/--realtime: when the agent's first audio was ready
    # --realtime: the caller said this line over the agent's previous reply (`barge_in`);
    # this reply was cut by the caller's next line (`interrupted`), so `agent_text` holds
    # only the words played before the cut and `full_reply` what the agent had written.
    barge_in: bool = False
    interrupted: bool = False
    full_reply: str | None = None
    played_ms: float | None = None
    audio_ms: float | None = None


class CallTrace(BaseModel):
    greeting: str
    turns: list[CallTurn] = Field(default_factory=list)
    ended_by: EndReason = "turn_limit"
    error: str | None = None

    @property
    def calls(self) -> list[ToolCallRecord]:
        return [c for t in self.turns for c in t.tool_calls]

    def caller_words_until(self, turn: int) -> str:
        """Everything the agent heard the caller say up to and including `turn`."""
        return " ".join(t.heard for t in self.turns if t.index <= turn)

    def agent_words(self) -> list[str]:
        return [self.greeting, *(t.agent_text for t in self.turns)]
