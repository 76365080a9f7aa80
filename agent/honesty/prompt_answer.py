"""A question the persona's own prompt answers, whose tool call waits on a value nobody said.

"How much does a second checked bag cost?" on the SkyWay desk: the model calls
`add_checked_bag` or `get_booking` with the booking code of the tool's description, the call
is held because the caller never said a code (`agent.turn.provenance.hold_copied_values`),
and the honest reply would ask "To look that up I need your booking code". But the fee is a
line of Mia's prompt ("second 60 euros"): the caller asked about the policy, not about a
booking. So when every call of the turn was held for an unsaid value and a line of the
persona's prompt covers the request (`KnowledgeGaps.judge`: a line with a figure in it, close
to the request and closer than any live-data example; never a request naming a record's
code; a question, not a request to act), the model is asked again without the held call and with no tools: its answer comes
from the prompt. The held call stays in the conversation, so a caller who then says their
code has it made (`provenance.resumed_call`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from agent.chat_model import ChatMessage, TextDelta, TurnEndEstimate
from agent.turn.apology import apologising
from agent.turn.context import TurnContext
from agent.turn.provenance import UNSAID_MARK
from agent.turn.state import TurnState
from agent.turn.voicing import stop
from tools import ToolResult

log = logging.getLogger("stepvox.honesty")


# A question asks for what the prompt may hold ("How much does a second bag cost?"); a request
# to act ("Please add a second bag to my booking.", "Can you add a bag?") needs the record,
# however close its words lie to the fee line.
_QUESTION = re.compile(r"\?\s*$|^\W*(?:how|what|what's|which|when|where|why|who|is|are|do|"
                       r"does|did|may|am)\b", re.I)
_REQUEST = re.compile(r"^\W*(?:(?:ok|okay|so|well|hi|hello)\W+)*(?:please|can you|could you|"
                      r"would you|will you|i want|i'd like|i would like|i need|let's|add|"
                      r"cancel|change|book|move)\b", re.I)


def asks_a_question(text: str) -> bool:
    """Whether the caller's words ask for information rather than for an action."""
    return bool(_QUESTION.search(text.strip())) and not _REQUEST.match(text)


def held_for_unsaid(results: Sequence[ToolResult]) -> bool:
    """Whether the turn's calls were all held for a value the caller has not said."""
    return bool(results) and all(r.is_error and UNSAID_MARK in r.content for r in results)


def without_calls(messages: Sequence[ChatMessage], call_ids: set[str]) -> list[ChatMessage]:
    """The conversation with these calls and their results left out (an assistant message
    that only made them goes too; one that also spoke keeps its words)."""
    kept: list[ChatMessage] = []
    for message in messages:
        if message.role == "tool" and message.tool_call_id in call_ids:
            continue
        if message.role == "assistant" and message.tool_calls \
                and all(c.id in call_ids for c in message.tool_calls):
            if not (message.content or "").strip():
                continue
            message = message.model_copy(update={"tool_calls": []})
        kept.append(message)
    return kept


async def answer_from_prompt(ctx: TurnContext, state: TurnState) -> bool:
    """Replace the pending answer with one asked without the held calls and with no tools;
    False (nothing changed) when that answer says nothing."""
    svc = ctx.services
    held = {r.call_id for r in state.get("tool_results", [])}
    messages = without_calls(state["messages"], held)
    log.info("calls held for an unsaid value, the prompt answers the request: asked again "
             "without them")
    again = apologising(svc.chat_model.stream(messages, svc.tools.openai_schemas(),
                                              tool_choice="none"),
                        getattr(svc.chat_model, "name", ""))
    first = await anext(again, None)
    while isinstance(first, TurnEndEstimate) or \
            isinstance(first, TextDelta) and not first.text.strip():
        first = await anext(again, None)
    if not isinstance(first, TextDelta):
        await stop(again)
        return False
    if ctx.live_stream is not None:
        await stop(ctx.live_stream)
    ctx.first_event, ctx.live_stream = first, again
    return True
