"""A tool that said no, told apart from a tool that broke.

"The surname 'de Vries' does not match a passenger on booking SKW246, so nothing was
changed." is an answer: the desk worked and refused, for a reason the caller can act on.
Telling that caller "the service isn't working" is wrong twice: it blames a service that
works, and it hides what to do next. So a failed result is read three ways:

- **broken**: the exception is one a failing service raises (connections, sockets, HTTP,
  a bare `RuntimeError`/`Exception`), or its message speaks of one (unavailable, 503);
- **invalid arguments**: the call itself did not validate (`tools.arguments`): the model
  wrote a value the tool does not take, which the caller can say again;
- **refused**: anything else whose message opens with a sentence written for people (a
  capital letter, at most 30 words, no web address, phone number or email, which a
  remote service's error text could carry to the caller): that sentence is the reply.

Programmer errors ("invalid literal for int()", "'key'") open in lower case or with a
quote, so they stay "broken".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from tools import ToolResult
from tools.builtin.audio_embeddings import Embedder

_CLASS_AND_MESSAGE = re.compile(r"^([A-Za-z_][\w.]*)(?::\s*(.+))?$", re.S)
_SERVICE_CLASSES = re.compile(
    r"(?:^|\.)(?:\w*Connection\w*|OSError|IOError|BrokenPipeError|TimeoutError|\w*Timeout|"
    r"HTTP\w*Error|ConnectError|\w*ProtocolError|\w*Unavailable\w*|RuntimeError|Exception|"
    r"SSLError|\w*NetworkError|ServerError)$")
_SERVICE_WORDS = re.compile(r"unavailable|connection|network|server error|internal error|"
                            r"\b5\d\d\b|try again later|could not be reached|unreachable", re.I)
_CONTACT = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|org|net|io|example)\b|\S@\S|"
                      r"\+?\d[\d\s().-]{7,}\d")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_INVALID = "The arguments for tool "
_ARGUMENT = re.compile(r"argument '([^']+)'")
MAX_WORDS = 30
# The tool's advice to the model ("Offer to transfer the caller to a human agent.") is this
# close to an offered tool's description when it names what that tool does.
ADVICE_NAMES_TOOL = 0.45


def refusal_reason(result: ToolResult) -> str | None:
    """The sentence in which the tool says why it refused, or None when the failure reads as
    a broken service (or the result is no failure)."""
    if not result.is_error or result.content.startswith(_INVALID):
        return None
    found = _CLASS_AND_MESSAGE.match(result.content.strip())
    if found is None or not found.group(2):
        return None
    kind, message = found.group(1), found.group(2).strip()
    if _SERVICE_CLASSES.search(kind) or _SERVICE_WORDS.search(message):
        return None
    first = _SENTENCE.split(message, maxsplit=1)[0].strip()
    if len(first.split()) > MAX_WORDS:  # the head of a long one: "X cannot be cancelled: ..."
        head = re.split(r"[:;]", first, maxsplit=1)[0].strip()
        first = head + "." if 4 <= len(head.split()) <= MAX_WORDS else ""
    if not first[:1].isupper() or _CONTACT.search(first):
        return None
    return first.replace("'", "").replace('"', "")


def invalid_argument(result: ToolResult) -> str | None:
    """The name of the first argument that did not validate ("" when none is named), or
    None when the result is not a validation failure."""
    if not (result.is_error and result.content.startswith(_INVALID)):
        return None
    found = _ARGUMENT.search(result.content)
    return found.group(1).split(".")[0].split("[")[0] if found else ""


def advised_tool(result: ToolResult, embed: Embedder,
                 schemas: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The offered tool that a refusal's later sentences, its advice to the model, point to
    ("Offer to transfer the caller to a human agent." -> `transfer_to_human`), or None. The
    caller is told it can be done; the advice itself is never read out."""
    found = _CLASS_AND_MESSAGE.match(result.content.strip())
    parts = _SENTENCE.split((found.group(2) or "") if found else "", maxsplit=1)
    candidates = [s for s in schemas if s["function"]["name"] != result.name]
    if len(parts) < 2 or not parts[1].strip() or not candidates:
        return None
    texts = [f"{s['function']['name'].replace('_', ' ')}: {s['function'].get('description', '')}"
             for s in candidates]
    vectors = embed([parts[1], *texts])
    sims = vectors[1:] @ vectors[0]
    best = int(np.argmax(sims))
    return candidates[best] if float(sims[best]) >= ADVICE_NAMES_TOOL else None
