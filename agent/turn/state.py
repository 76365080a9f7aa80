"""The state one turn carries through the graph: plain data only (checkpointable)."""

from __future__ import annotations

from typing import Literal, TypedDict

from agent.chat_model import ChatMessage, ToolCall
from tools import ToolResult

Route = Literal["act", "speak", "remember"]


class TurnState(TypedDict, total=False):
    user_text: str
    # The prompt: system, history, this user turn, then this turn's tool calls and results.
    messages: list[ChatMessage]
    rounds: int  # think/act rounds used in this turn
    pending_calls: list[ToolCall]
    tool_results: list[ToolResult]
    # Text spoken before a tool call in the same reply (a filler sentence), kept for the prompt.
    filler_text: str
    # The filler text of the turn's first tool round, stored so the next turn's prompt
    # replays this one exactly (prefix-cache reuse).
    preamble: str
    answer_only: bool  # set after the model repeated a call it already has the result of
    # A tool to be made to call next: a call of `fetch_for` was held for a reading it gives
    # (tools.calls.produced_values), and is made again once it ran; `fetched` are those
    # already made to, once each.
    fetch_next: str
    fetch_for: str
    fetched: list[str]
    reply_text: str  # everything the speaking node sent to the decoder this turn
    route: Route
    remembered: bool  # set by `remember`: the turn is in the history store
