"""What the embedded model writes as a tool call: parsed, then grounded in what the user said."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from agent.chat_model import ChatMessage, ToolCall
from agent.errors import ModelBackendError
from tools.argument_grounding import ground_arguments
from tools.argument_shapes import code_left_out, moved_call, repaired_codes
from tools.builtin.argument_resolvers import ARGUMENT_RESOLVERS

log = logging.getLogger(__name__)

# Re-exported: the built-in tools' resolvers live with the tools.
__all__ = ["ARGUMENT_RESOLVERS", "closed_looping_list", "forced_tool", "ground_call",
           "parse_call"]


def parse_call(text: str) -> ToolCall:
    """The grammar guarantees the shape; strip the optional <tool_call> wrapper and parse."""
    body = text.strip().removeprefix("<tool_call>").removesuffix("</tool_call>").strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:  # only when max_tokens cut the call short
        closed = closed_looping_list(body)
        if closed is None:
            raise ModelBackendError(f"the model's tool call was cut off: {body[:200]!r}") from exc
        log.info("a tool call cut off in a list repeating itself, kept its distinct items: %s",
                 closed)
        data = json.loads(closed)
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        # Named, like a cut-off call, rather than a KeyError deep in the stream.
        raise ModelBackendError(f"the model's tool call names no tool: {body[:200]!r}")
    return ToolCall(name=data["name"], arguments=data.get("arguments") or {})


def closed_looping_list(body: str) -> str | None:
    """A call cut off by max_tokens inside a list that repeats itself, closed: the list's
    whole items without repeats, then the brackets still open. Greedy decoding of a small
    model can loop in a list (`additional_services=["compact car", "compact car", ...]`)
    until the token budget ends; the items before the loop are what it meant. None when
    the cut is not inside such a list: a call merely too long stays an error."""
    open_at: list[tuple[str, int]] = []
    in_string = escaped = False
    for i, ch in enumerate(body):
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            open_at.append((ch, i))
        elif ch in "]}" and open_at:
            open_at.pop()
    lists = [i for ch, i in open_at if ch == "["]
    if not lists:
        return None
    start = lists[-1]
    items, pos, decoder = [], start + 1, json.JSONDecoder()
    while True:
        while pos < len(body) and body[pos] in " \t\r\n,":
            pos += 1
        try:
            item, pos = decoder.raw_decode(body, pos)
        except json.JSONDecodeError:
            break
        items.append(json.dumps(item, ensure_ascii=False))
    distinct = list(dict.fromkeys(items))
    if len(distinct) == len(items):
        return None
    closers = "".join("}" if ch == "{" else "]" for ch, i in reversed(open_at) if i < start)
    return body[:start] + "[" + ", ".join(distinct) + "]" + closers


def ground_call(call: ToolCall, messages: Sequence[ChatMessage],
                tools: Sequence[dict[str, Any]]) -> ToolCall:
    """Put back a code the model miscopied and move a call to the look-alike tool its
    value's shape belongs to (`tools.argument_shapes`); drop optional arguments the user never said and fill the ones the user's latest turn
    clearly names (see `tools.argument_grounding`). Any of the user's turns backs a value
    the model wrote ("and in Paris?" after asking about Paris); only the latest one adds a
    value the model left out, since an earlier place need not be what this turn is about."""
    users = [m.content for m in messages if m.role == "user"]
    fixed = repaired_codes(call.arguments, users[-1] if users else "")
    if fixed != call.arguments:  # "SK123" written for the "skw123" the user said
        log.info("%s: codes put back as the user said them: %s -> %s", call.name,
                 call.arguments, fixed)
        call = call.model_copy(update={"arguments": fixed})
    # A flight number sent to the booking tool, or the reverse; or a code the caller said
    # that the chosen tool cannot take, when one other tool takes codes of its shape.
    moved = moved_call(call.name, call.arguments, tools) or \
        code_left_out(call.name, call.arguments, tools, users[-1] if users else "")
    if moved is not None:
        log.info("moved %s(%s) to %s by the shape of its value", call.name, call.arguments,
                 moved[0])
        call = call.model_copy(update={"name": moved[0], "arguments": moved[1]})
    schema = next((t["function"] for t in tools if t["function"]["name"] == call.name), None)
    if schema is None:
        return call
    grounded = ground_arguments(call.arguments, schema.get("parameters"), "\n".join(users),
                                resolvers=ARGUMENT_RESOLVERS.get(call.name),
                                latest=users[-1] if users else "")
    if grounded.dropped:
        log.info("dropped %s's optional arguments the user did not say: %s", call.name,
                 grounded.dropped)
    if grounded.replaced:
        log.info("replaced %s's arguments copied from elsewhere: %s", call.name,
                 grounded.replaced)
    if grounded.filled:
        log.info("filled %s's optional arguments from the user's words: %s", call.name,
                 grounded.filled)
    if grounded.arguments == call.arguments:
        return call
    return call.model_copy(update={"arguments": grounded.arguments})


FORCED = "call:"


def forced_tool(tool_choice: str, tools: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The offered tool that `tool_choice="call:NAME"` names, or None for "auto"/"none"; a
    name no offered tool has is a named error, not a silent answer in words."""
    if not tool_choice.startswith(FORCED):
        return None
    name = tool_choice[len(FORCED):]
    found = next((t for t in tools if t["function"]["name"] == name), None)
    if found is None:
        raise ModelBackendError(f"tool_choice {tool_choice!r} names no offered tool; offered: "
                                f"{', '.join(t['function']['name'] for t in tools) or 'none'}")
    return found
