"""A turn's tool calls checked for values copied from the tools' own descriptions, before
anything runs (`tools.schema_examples`): a copied value the caller said differently is put
back as said, an optional one is dropped, and a call whose required value nobody said is
not made. That call gets an error result naming the argument, so the model (or the honesty
layer, `agent.honesty.replies`) asks the caller for it instead of answering about the
example's booking, airport or surname. Works the same for every backend: remote models copy
examples too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from agent.chat_model import ChatMessage, ToolCall
from tools import ToolResult
from tools.schema_examples import check_copied_values, parameter_phrase

log = logging.getLogger(__name__)

# `agent.honesty.tool_refusals.invalid_argument` reads results that open this way.
UNSAID_MARK = "the caller has not said it"


def conversation_text(messages: Sequence[ChatMessage]) -> str:
    """Everything said and returned so far: the persona's text, each turn, each tool result."""
    return "\n".join(m.content for m in messages if m.content)


def hold_copied_values(calls: Sequence[Any], registry: Any,
                       messages: Sequence[ChatMessage]) -> tuple[list[Any], list[ToolResult]]:
    """(calls to make, their copied examples put back or dropped; results for the calls not
    made). Calls to unknown tools and malformed calls pass through: the dispatcher names
    those errors."""
    conversation = conversation_text(messages)
    latest = next((m.content for m in reversed(messages) if m.role == "user"), "")
    run: list[Any] = []
    held: list[ToolResult] = []
    for call in calls:
        if not isinstance(call, ToolCall) or call.name not in registry:
            run.append(call)
            continue
        function = registry.get(call.name).openai_schema()["function"]
        checked = check_copied_values(call.arguments, function, conversation, latest)
        if checked.repaired or checked.dropped:
            log.info("%s: values copied from its description: put back %s, dropped %s",
                     call.name, checked.repaired, checked.dropped)
        if not checked.unsaid:
            run.append(call if checked.arguments == call.arguments else
                       call.model_copy(update={"arguments": checked.arguments}))
            continue
        log.info("%s not called: %s copied from its description, not said", call.name,
                 checked.unsaid)
        held.append(unsaid_result(call, checked.unsaid, function))
    return run, held


def unsaid_result(call: ToolCall, unsaid: dict[str, str], function: dict[str, Any]) -> ToolResult:
    name, value = next(iter(unsaid.items()))
    spec = ((function.get("parameters") or {}).get("properties") or {}).get(name) or {}
    phrase = parameter_phrase(name, spec)
    content = (f"The arguments for tool {call.name!r} were not used: argument '{name}' was "
               f"{value!r}, the example in the tool's description, and {UNSAID_MARK}. "
               f"Ask the caller for {phrase}; do not call {call.name!r} with an example value.")
    return ToolResult(name=call.name, call_id=call.id, arguments=dict(call.arguments),
                      content=content, is_error=True, latency_ms=0.0)
