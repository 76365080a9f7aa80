"""A call the model must write: the request needs a tool that is offered, and the model
answered in words instead ("what's apple stock trading at" with a stock-price tool offered).

Before, the reply asked the caller for what the call needs ("To look that up I need the
ticker ..."), though the request had said it. A backend that can be made to write one
tool's call (`supports_forced_calls`: the embedded one, `tool_choice="call:NAME"`, arguments
under the tool's grammar) is asked for that call instead; its arguments go through the same
grounding and validation as any other call.
"""

from __future__ import annotations

import logging

from agent.chat_model import ToolCall, ToolCallEvent
from agent.errors import ModelBackendError
from agent.turn.context import TurnContext
from agent.turn.state import TurnState

log = logging.getLogger("stepvox.honesty")


async def forced_call(ctx: TurnContext, state: TurnState, name: str) -> ToolCall | None:
    """The call of `name` the model writes when made to (`tool_choice="call:NAME"`), for a
    request the offered tool covers but the model answered in words; None when the backend
    gives none. The pending answer's stream is closed first: the backend serves one
    generation at a time."""
    stream, ctx.live_stream = ctx.live_stream, None
    close = getattr(stream, "aclose", None)
    if close is not None:
        await close()
    svc = ctx.services
    events = svc.chat_model.stream(state["messages"], svc.tools.openai_schemas(),
                                   tool_choice=f"call:{name}")
    try:
        async for event in events:
            if isinstance(event, ToolCallEvent):
                return event.call
    except ModelBackendError as exc:  # then the caller is asked for the value instead
        log.warning("the forced call of %s failed: %s", name, exc)
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()
    return None
