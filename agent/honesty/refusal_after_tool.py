"""A refusal after a tool answered: asked once more, with the result pointed at.

A tool ran and answered ("order 4471: shipped on Tuesday"), and the 0.5B model, reading the
result, opens with "I'm sorry, but I can't assist with that." or asks for "the function name
and its parameters". The caller asked, the answer is in the prompt, and they hear a refusal.
Before the reply is spoken, its first sentence is read (after a tool round a filler covers
the wait); when it is one of those refusals, or the caller's own question said back ("What
is the status of booking skw123?"), the stream is closed unheard and the model is asked once
more, with a last system line saying that the result above answers the question.
Whatever that second answer is, it is spoken: there is no third try. A first sentence that
is not a refusal is spoken as it was generated, nothing lost.
"""

from __future__ import annotations

import logging
import re
from difflib import SequenceMatcher
from collections.abc import AsyncIterator

from agent.chat_model import ChatEvent, ChatMessage, TextDelta
from agent.honesty.result_readout import carries_result, readout, unanswered
from agent.turn.apology import apologising
from agent.turn.context import TurnContext
from agent.turn.voicing import stop
from agent.turn.state import TurnState

# A refusal of the whole request, or the model asking for its own call's parts; not a
# polite "sorry, it was cancelled" that carries the answer.
REFUSAL = re.compile(
    r"\b(?:I'?m sorry,? but I|I|sorry,? I)\s+(?:can(?:no|')t|am unable to|am not able to)\s+"
    r"(?:assist|help)(?: you)? with (?:that|this)|provide (?:me with )?the function name|"
    r"\bas an AI\b", re.I)
# A sentence wholly in brackets is a prompt's note read back, never a spoken answer, with or
# without a tool result before it ("(Answer me in plain spoken words, without mentioning any
# function.)" after booking SKW456 was read, chatml_prompt.TURN_NOTE). Given
# "给我唱一首关于月亮的歌吧。", the 0.5B said the per-turn note "（请用简短的口语直接回答我，
# 不要提到任何函数。）" and nothing else.
# A style tag may open it; the sentence's end may come before its closing bracket.
BRACKETED = re.compile(r"^(?:\s*[(（][^()（）]*[)）])*\s*[(（][^()（）]*(?:[)）]\W*)?$")
# A system line, not a user one: the 0.5B read a user line like this back word for word.
NUDGE = ("The tool result above answers the caller's last question. Give that answer in one "
         "or two short spoken sentences.")
log = logging.getLogger("stepvox.honesty")
NUDGE_BY_LANGUAGE = {"en": NUDGE, "zh": "上面的工具结果回答了用户刚才的问题。请用一两句简短的中文口语说出答案。"}
# Said when the second answer held nothing but the nudge read back, and no tool result can
# be read out instead (result_readout: its `spoken` line, else its own fields).
UNREAD = "Sorry, I found it but lost my words; could you ask me once more?"
UNREAD_BY_LANGUAGE = {"en": UNREAD, "zh": "抱歉，我查到了，但一下没说清楚，你能再问我一次吗？"}
# Chinese full stops end a sentence with no space after them.
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|[。！？]")
_PEEK_WORDS = 16  # a refusal is said in its first sentence; past this it is not one


async def ask_again_after_refusal(ctx: TurnContext, state: TurnState) -> None:
    """Read the first sentence of the pending answer (`ctx.first_event` and
    `ctx.live_stream`); when it refuses or only repeats the caller's words, replace both with
    a second answer, whose own opening is dropped when it repeats the caller or the nudge."""
    stream, first = ctx.live_stream, ctx.first_event
    if stream is None or not isinstance(first, TextDelta):
        return
    said, results = state.get("user_text", ""), state.get("tool_results", [])

    def said_before(sentence: str) -> bool:
        # A caller's line said back is never the answer; the agent's own earlier line is,
        # when it carries this turn's result (the same booking read out for the same question).
        messages = state.get("messages", [])
        return says_an_earlier_line(sentence, [m for m in messages if m.role == "user"]) or \
            says_an_earlier_line(sentence, [m for m in messages if m.role == "assistant"]) \
            and not carries_result(sentence, results, said)

    text, read = await first_sentence(first, stream)
    if not (REFUSAL.search(text) or BRACKETED.match(text) or asks_back(text, said) or
            said_before(text)):
        line = unanswered(text, state.get("tool_results", []), said)
        if line is None:
            ctx.first_event, ctx.live_stream = read[0], replayed(read[1:], stream)
            return
        log.info("the tool's own line instead of an answer without its figures: %r", text)
        await stop(stream)
        ctx.first_event, ctx.live_stream = TextDelta(line), None
        return
    log.info("asking again after a tool answered: the first answer began %r", text)
    language, nudge, again = await asked_again(ctx, state, stream, NUDGE_BY_LANGUAGE)
    opening = await anext(again, None)
    for _ in range(3):  # the nudge has two sentences; the caller's question is one
        if not isinstance(opening, TextDelta):
            break
        second, read = await first_sentence(opening, again)
        if not (asks_back(second, said) or echoes(second, nudge) or said_before(second)
                or BRACKETED.match(second)):
            line = unanswered(second, state.get("tool_results", []), said)
            if line is not None:  # asked again, and still no figure of the answer
                log.info("the tool's own line instead of a second answer without its "
                         "figures: %r", second)
                await stop(again)
                ctx.first_event, ctx.live_stream = TextDelta(line), None
                return
            opening, again = read[0], replayed(read[1:], again)
            break
        log.info("dropped from the second answer: %r", second)
        opening = await after_dropped(second, read, again)
    if not isinstance(opening, TextDelta):  # nothing but the echo came
        line = readout(state.get("tool_results", []), language)
        ctx.first_event = TextDelta(line or UNREAD_BY_LANGUAGE.get(language, UNREAD))
        ctx.live_stream = None
        return
    ctx.first_event, ctx.live_stream = opening, again


async def asked_again(ctx: TurnContext, state: TurnState, stream: AsyncIterator[ChatEvent],
                      nudges: dict[str, str]) -> tuple[str, str, AsyncIterator[ChatEvent]]:
    """Close the first answer's `stream` unheard and ask the model once more, with the
    persona language's nudge as a last system line and no tools: (language, nudge, the
    second answer's stream)."""
    await stop(stream)
    svc = ctx.services
    language = language_of(svc.persona)
    nudge = nudges.get(language, nudges["en"])
    messages = [*state["messages"], ChatMessage(role="system", content=nudge)]
    again = apologising(svc.chat_model.stream(messages, svc.tools.openai_schemas(),
                                              tool_choice="none"),
                        getattr(svc.chat_model, "name", ""))
    return language, nudge, again


def asks_back(sentence: str, said: str) -> bool:
    """The caller's question said back to them: a question made of their own words. ("Order
    4471 has shipped." uses their words too, but answers.)"""
    return sentence.rstrip().endswith(("?", "？")) and echoes(sentence, said)


def says_an_earlier_line(sentence: str, messages) -> bool:
    """Whether `sentence` (four words or more) is a line of the conversation said again,
    the caller's or the agent's own: after a cancellation the greedy 0.5B answered "I need
    to cancel a booking. The code is SKW246.", the caller's opening words, and asked again,
    its own question of two turns before."""
    words = spoken_words(sentence)
    if len(words) < 4:
        return False
    for message in messages:
        if message.role in ("user", "assistant") and message.content:
            # In the same order, as one run: "Order 4471 has shipped." uses the words of
            # "has order 4471 shipped yet" but answers it.
            line = spoken_words(message.content)
            run = SequenceMatcher(None, words, line, autojunk=False).find_longest_match(
                0, len(words), 0, len(line)).size
            if run >= 0.9 * len(words):
                return True
    return False


def echoes(sentence: str, source: str) -> bool:
    """Whether `sentence` (three words or more) is mostly `source`'s own words: the caller's
    question said back, or the nudge read out."""
    words = spoken_words(sentence)
    if len(words) < 3:
        return False
    theirs = set(spoken_words(source))
    return sum(w in theirs for w in words) >= 0.8 * len(words)


def language_of(persona) -> str:
    """The persona's language as two letters ("en" when it names none)."""
    return (getattr(persona, "language", "") or "en").lower()[:2]


def spoken_words(text: str) -> list[str]:
    """Words, and each Chinese or Japanese character as one (they are not spaced)."""
    return re.findall(r"[\u3040-\u30ff\u3400-\u9fff]|[^\W\u3040-\u30ff\u3400-\u9fff]+",
                      text.lower())


def _size(text: str) -> int:
    """Words, with two Chinese characters counted as one word."""
    return len(text.split()) + len(re.findall(r"[\u3400-\u9fff]", text)) // 2


async def first_sentence(first: TextDelta, stream: AsyncIterator[ChatEvent]
                          ) -> tuple[str, list[ChatEvent]]:
    """The text up to the first sentence end (or `_PEEK_WORDS` words), and the events read."""
    read: list[ChatEvent] = [first]
    text = first.text
    while not _SENTENCE_END.search(text) and _size(text) < _PEEK_WORDS:
        event = await anext(stream, None)
        if event is None:
            break
        read.append(event)
        if not isinstance(event, TextDelta):
            break
        text += event.text
    return text, read


async def after_dropped(text: str, read: list[ChatEvent], stream: AsyncIterator[ChatEvent]
                        ) -> ChatEvent | None:
    """The event that opens what follows a dropped sentence (`text`, from the events `read`).
    A sentence cut at `_PEEK_WORDS` words is read on to its end first, so what is said next
    never starts in the middle of it ("...leaving at 0" dropped, "7:40 and landing" said)."""
    rest = [e for e in read if not isinstance(e, TextDelta)]
    if rest or _SENTENCE_END.search(text):
        return rest[0] if rest else await anext(stream, None)
    while (event := await anext(stream, None)) is not None:
        if not isinstance(event, TextDelta):
            return event
        end = _SENTENCE_END.search(event.text)
        if end is not None:
            tail = event.text[end.end():]
            return TextDelta(tail) if tail.strip() else await anext(stream, None)
    return None


async def replayed(read: list[ChatEvent], rest: AsyncIterator[ChatEvent]
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

