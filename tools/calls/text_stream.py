"""Tool calls in a *streamed* text reply, with the spoken part released as it arrives.

Step-Audio says a filler sentence and then writes `<tool_call>...`; the filler should be
spoken at once, while the call is still being generated, and the call's JSON must never
reach the speech decoder. `TextCallStream.feed` returns the text that is safe to speak now:
everything before a `<tool_call>` tag, holding back a piece that may be the start of one
(`<tool_`), and holding everything from a `{` or a code fence on, since that may be a
JSON call. `finish` parses the whole reply and returns what is left to speak.
"""

from __future__ import annotations

from collections.abc import Collection

from pydantic import BaseModel

from tools.calls.parsed import ParsedReply
from tools.calls.text_parser import parse_text_calls

_TAG = "<tool_call>"
_HOLD_FROM = ("{", "[{", "```")


class StreamEnd(BaseModel):
    reply: ParsedReply
    tail: str  # text of the reply not yet returned by `feed`, to be spoken now


class TextCallStream:
    def __init__(self, known: Collection[str] | None = None) -> None:
        self.known = known
        self._text = ""
        self._released = 0
        self._closed = False  # a tag or a possible JSON call was seen: release nothing more

    def feed(self, piece: str) -> str:
        """Add a piece of the reply; returns the newly speakable text ('' if none)."""
        self._text += piece
        if self._closed:
            return ""
        end = len(self._text)
        stops = [i for i in (self._text.find(_TAG, self._released),
                             *(self._text.find(m, self._released) for m in _HOLD_FROM)) if i >= 0]
        if stops:
            end, self._closed = min(stops), True
        else:
            # Hold back a suffix that could grow into the tag or a fence.
            for size in range(min(len(_TAG) - 1, end - self._released), 0, -1):
                tail = self._text[end - size :]
                if _TAG.startswith(tail) or "```".startswith(tail):
                    end -= size
                    break
        out = self._text[self._released : end]
        self._released = end
        return out

    def finish(self) -> StreamEnd:
        reply = parse_text_calls(self._text, self.known)
        spoken = self._text[: self._released]
        # What the parser kept as text, minus what was already spoken. Parsing only removes
        # calls, so the spoken prefix is a prefix of the kept text (up to whitespace).
        kept = reply.text
        tail = kept[len(spoken.strip()) :] if kept.startswith(spoken.strip()) else ""
        return StreamEnd(reply=reply, tail=tail.strip())
