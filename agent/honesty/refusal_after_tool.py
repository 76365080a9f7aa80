"""A refusal after a tool answered: asked once more, with the result pointed at.

A tool ran and answered ("order 4471: shipped on Tuesday"), and the 0.5B model, reading the
result, opens with "I'm sorry, but I can't assist with that." or asks for "the function name
and its parameters". The caller asked, the answer is in the prompt, and they hear a refusal.
Before the reply is spoken, its first sentence is read (after a tool round a filler covers
the wait); when it is one of those refusals, the stream is closed unheard and the model is
asked once more, with a last user line saying that the result above answers the question.
Whatever that second answer is, it is spoken: there is no third try. A first sentence that
is not a refusal is spoken as it was generated, nothing lost.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from agent.chat_model import ChatEvent, ChatMessage, TextDelta
from agent.turn.apology import apologising
from agent.turn.context import TurnContext
from agent.turn.state import TurnState

# A refusal of the whole request, or the model asking for its own call's parts; not a
# polite "sorry, it was cancelled" that carries the answer.
REFUSAL = re.compile(
    r"\b(?:I'?m sorry,? but I|I|sorry,? I)\s+(?:can(?:no|')t|am unable to|am not able to)\s+"
    r"(?:assist|help)(?: you)? with (?:that|this)|provide (?:me with )?the function name|"
    r"\bas an AI\b", re.I)
NUDGE = ("The tool result above answers my question. Tell me what it says, in one or two "
         "short spoken sentences.")
_SENTENCE_END = re.compile(r"[.!?。！？](?:\s|$)")
_PEEK_WORDS = 16  # a refusal is said in its first sentence; past this it is not one


async def ask_again_after_refusal(ctx: TurnContext, state: TurnState) -> None:
    """Read the first sentence of the pending answer (`ctx.first_event` and
    `ctx.live_stream`); when it refuses, replace both with a second answer."""
    stream, first = ctx.live_stream, ctx.first_event
    if stream is None or not isinstance(first, TextDelta):
        return
    read: list[ChatEvent] = [first]
    text = first.text
    while not _SENTENCE_END.search(text) and len(text.split()) < _PEEK_WORDS:
        try:
            event = await anext(stream)
        except StopAsyncIteration:
            break
        read.append(event)
        if not isinstance(event, TextDelta):
            break
        text += event.text
    if not REFUSAL.search(text):
        ctx.first_event, ctx.live_stream = read[0], _replayed(read[1:], stream)
        return
    close = getattr(stream, "aclose", None)
    if close is not None:
        await close()
    svc = ctx.services
    messages = [*state["messages"], ChatMessage(role="user", content=NUDGE)]
    again = apologising(svc.chat_model.stream(messages, svc.tools.openai_schemas(),
                                              tool_choice="none"),
                        getattr(svc.chat_model, "name", ""))
    try:
        ctx.first_event = await anext(again)
    except StopAsyncIteration:
        ctx.first_event = TextDelta(text)  # nothing better came: the first answer stands
        ctx.live_stream = None
        return
    ctx.live_stream = again


async def _replayed(read: list[ChatEvent], rest: AsyncIterator[ChatEvent]
                    ) -> AsyncIterator[ChatEvent]:
    """The events already read, then the rest of the stream, which is closed with this one."""
    try:
        for event in read:
            yield event
        async for event in rest:
            yield event
    finally:
        close = getattr(rest, "aclose", None)
        if close is not None:
            await close()

