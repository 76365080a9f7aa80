"""What the embedded model writes as a tool call: parsed, then grounded in what the user said."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from agent.chat_model import ChatMessage, ToolCall
from agent.errors import ModelBackendError
from tools.argument_grounding import Spellings, ground_arguments
from tools.datetime_tool import timezone_spellings

log = logging.getLogger(__name__)

# Alternative names of argument values that only a tool knows, for argument grounding.
ARGUMENT_SPELLINGS: dict[str, dict[str, Spellings]] = {
    "get_date_time": {"timezone": timezone_spellings},
}


def parse_call(text: str) -> ToolCall:
    """The grammar guarantees the shape; strip the optional <tool_call> wrapper and parse."""
    body = text.strip().removeprefix("<tool_call>").removesuffix("</tool_call>").strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:  # only when max_tokens cut the call short
        raise ModelBackendError(f"the model's tool call was cut off: {body[:200]!r}") from exc
    return ToolCall(name=data["name"], arguments=data.get("arguments") or {})


def ground_call(call: ToolCall, messages: Sequence[ChatMessage],
                tools: Sequence[dict[str, Any]]) -> ToolCall:
    """Drop optional arguments the user never said (see `tools.argument_grounding`); the
    user's turns in this conversation are what counts as said."""
    schema = next((t["function"] for t in tools if t["function"]["name"] == call.name), None)
    if schema is None or not call.arguments:
        return call
    said = "\n".join(m.content for m in messages if m.role == "user")
    grounded = ground_arguments(call.arguments, schema.get("parameters"), said,
                                spellings=ARGUMENT_SPELLINGS.get(call.name))
    if grounded.dropped:
        log.info("dropped %s's optional arguments the user did not say: %s", call.name,
                 grounded.dropped)
    return call.model_copy(update={"arguments": grounded.arguments})
