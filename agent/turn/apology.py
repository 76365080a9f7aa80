"""A language model that fails mid-turn is answered with a spoken apology, not silence.

A remote server can be down, overloaded or restarted at any moment; a caller on the line
should hear that something went wrong rather than a dead line, and the conversation should
go on. `apologising` wraps a backend's event stream for the turn graph: a `ModelBackendError`
(every backend's named failure: unreachable, timed out, HTTP error, cut stream) is logged
with what to fix and replaced by an apology the `speak` node says like any reply, so the
turn ends normally and is kept in the history (the next prompt leaves the apology out:
`without_apology`). Other exceptions are bugs and propagate.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from agent.chat_model import ChatEvent, ModelDone, TextDelta
from agent.errors import ModelBackendError

log = logging.getLogger(__name__)

APOLOGY = "Sorry, I can't answer right now. Please try again in a moment."


def without_apology(text: str) -> str:
    """A stored reply as the next prompt should show it: the words the model said before it
    failed, without the apology. Kept in the prompt, the apology is what a small model says
    next (the packaged 0.5B repeated it word for word to the following question, through
    llama.cpp's server: tests/faults/test_llm_server_faults.py)."""
    return text.removesuffix(APOLOGY).strip() if text.endswith(APOLOGY) else text


async def apologising(stream: AsyncIterator[ChatEvent], model_name: str = "",
                      ) -> AsyncIterator[ChatEvent]:
    """`stream`'s events; on a backend failure, an apology and `ModelDone("error")`."""
    said = False
    try:
        async for event in stream:
            said = said or (isinstance(event, TextDelta) and bool(event.text.strip()))
            yield event
    except ModelBackendError as exc:
        log.error("the language model %s failed, the caller hears an apology: %s: %s",
                  model_name or "backend", type(exc).__name__, exc)
        # After words already spoken, the apology goes on from them as a new sentence.
        yield TextDelta((" " if said else "") + APOLOGY)
        yield ModelDone(finish_reason="error",
                        raw={"error": f"{type(exc).__name__}: {exc}"})
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:  # stops the model when the consumer stops early (barge-in)
            await close()
