"""Speaking the reply's sentences: synthesized in order, in a task of their own, while the
model keeps writing the next ones (`agent.turn.nodes.speak` feeds the queue)."""

from __future__ import annotations

import asyncio
import inspect
import re

from agent.events import AudioChunkEvent
from agent.turn.context import TurnContext
from speech.repetition import held_from
from speech.style import Style
from speech.style_stream import StyledSentence

_STAGE_DIRECTION = re.compile(r"\*[^*\n]+\*")


async def first_or_failed(first_heard: asyncio.Event, voice: asyncio.Task) -> None:
    waiter = asyncio.ensure_future(first_heard.wait())
    try:
        await asyncio.wait({waiter, voice}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()


async def voice_sentences(ctx: TurnContext,
                           sentences: asyncio.Queue[tuple[int, StyledSentence] | None],
                           write, first_heard: asyncio.Event) -> None:
    """Synthesize sentences in order while the model keeps writing the next ones."""
    decoder = ctx.services.decoder if ctx.synthesize else None
    try:
        while (item := await sentences.get()) is not None:
            index, sentence = item
            # Role-play stage directions ("*smiles warmly*") are shown, never read aloud.
            spoken = _STAGE_DIRECTION.sub(" ", sentence.text).strip()
            if decoder is not None and spoken:
                async for chunk in _synthesize(decoder, spoken, sentence.style):
                    ctx.clock.mark("tts_first_audio")
                    write(AudioChunkEvent(chunk, index))
                    first_heard.set()
            first_heard.set()
    finally:
        first_heard.set()


def _synthesize(decoder, text: str, style: Style):
    """A neutral style is not passed at all, so decoders written before `style` existed keep
    working; a styled sentence to such a decoder is spoken neutrally rather than failing."""
    if style.is_neutral or not _takes_style(decoder):
        return decoder.synthesize(text)
    return decoder.synthesize(text, style)


def _takes_style(decoder) -> bool:
    try:
        params = inspect.signature(decoder.synthesize).parameters
    except (TypeError, ValueError):
        return False
    return "style" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def after_loop(kept: str, spoken: list[str], style: Style) -> list[StyledSentence]:
    """What is still to say of `kept` (the reply up to its loop), given the sentences
    already handed to the voice."""
    cursor = 0
    for sentence in spoken:  # the voice has everything up to the last spoken sentence
        found = kept.find(sentence, cursor)
        cursor = found + len(sentence) if found >= 0 else len(kept)
    rest = kept[cursor:].strip()
    return [StyledSentence(rest, style)] if rest else []


class Captions:
    """The reply's caption as it streams. Words that may be the start of a loop's second
    copy (`speech.repetition.held_from`) wait, so a caption never shows a copy the voice
    and the history leave out."""

    def __init__(self) -> None:
        self.shown = ""

    def due(self, written: str, *, final: bool = False) -> str:
        """What of `written` (the reply so far, tags removed) to show now."""
        return self.up_to(written[:len(written) if final else held_from(written)])

    def up_to(self, text: str) -> str:
        """The rest of `text` not shown yet (nothing when the shown caption left it)."""
        if len(text) <= len(self.shown) or not text.startswith(self.shown):
            return ""
        piece, self.shown = text[len(self.shown):], text
        return piece


async def with_first(first, stream):
    """The event already read (if any), then the rest of the model's stream (if any)."""
    if first is not None:
        yield first
    if stream is not None:
        async for event in stream:
            yield event


async def stop(stream) -> None:
    """Close a model stream early (a local model stops generating)."""
    close = getattr(stream, "aclose", None)
    if close is not None:
        await close()
