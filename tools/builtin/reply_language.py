"""The language the agent is answering in, for tools that hand the model a ready-to-say line.

`get_date_time` and `get_weather` return a `spoken` sentence because a 0.5B model misreads
24-hour times and units when it composes them itself; the model repeats that line. A
Chinese persona repeating "It is 4:28 PM on Saturday" is a Chinese persona speaking English
through a Mandarin voice. So the agent sets the reply language around each tool round
(`replying_in`), and a tool that words a line reads it (`reply_language`). Tasks and tool
threads inherit it (contextvars), so a tool needs no extra parameter for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_LANGUAGE: ContextVar[str] = ContextVar("stepvox_reply_language", default="en")


def reply_language() -> str:
    """The two-letter code of the language the reply is in ("en" outside a turn)."""
    return _LANGUAGE.get()


@contextmanager
def replying_in(language: str | None) -> Iterator[None]:
    """Tools called inside this block word their lines in `language` ("zh-CN" -> "zh")."""
    token = _LANGUAGE.set((language or "en").lower()[:2] or "en")
    try:
        yield
    finally:
        _LANGUAGE.reset(token)
