"""Turning an OpenAI-compatible chat stream into what the agent may speak and run.

Three jobs, each a small piece the `OpenAIChatModel` feeds delta by delta:

- `ThinkStripper` removes `<think>...</think>` spans from the content (Qwen3, DeepSeek-R1
  and QwQ write them when the server has no reasoning parser), holding back a piece that may
  be the start of a tag, so no reasoning is ever spoken.
- `StreamedCalls` assembles `tool_calls` deltas (id and name first, argument fragments by
  `index`, parallel calls on separate indexes) and reports each call's name as soon as it is
  known, so the agent can start a filler while the arguments are still being written.
- `sanitised_call` turns a name and raw arguments into a `ToolCall`, repairing JSON that
  lost its closing brackets or gained a code fence; what cannot be repaired goes to the tool
  as the raw text, whose own argument check (`tools.arguments.parse_arguments`) tells the
  model what was wrong so it can send the call again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agent.chat_model import ToolCall, new_call_id
from agent.backends.step_audio.errors import MalformedToolCallError

log = logging.getLogger(__name__)

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


def _partial_tag(text: str, tag: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `tag`."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


class ThinkStripper:
    """Streamed content in, speakable content out; the reasoning is kept in `thought`."""

    def __init__(self) -> None:
        self._held = ""  # a suffix that may grow into a tag
        self._inside = False
        self._started = False  # leading blank lines after a reasoning block are not spoken
        self.thought: list[str] = []

    def feed(self, piece: str) -> str:
        text, self._held = self._held + piece, ""
        out: list[str] = []
        while text:
            tag = THINK_CLOSE if self._inside else THINK_OPEN
            at = text.find(tag)
            if at < 0 and not self._inside and THINK_CLOSE in text:
                # A stray closing tag (the template opened the block in the prompt): the
                # text before it was reasoning, but may already be spoken; drop the tag.
                at, tag = text.find(THINK_CLOSE), THINK_CLOSE
                out.append(text[:at])
                text = text[at + len(tag):]
                continue
            if at >= 0:
                (self.thought if self._inside else out).append(text[:at])
                text = text[at + len(tag):]
                self._inside = not self._inside
                continue
            keep = _partial_tag(text, tag) if self._inside else max(
                _partial_tag(text, THINK_OPEN), _partial_tag(text, THINK_CLOSE))
            (self.thought if self._inside else out).append(text[:len(text) - keep])
            self._held = text[len(text) - keep:]
            break
        return self._visible("".join(out))

    def finish(self) -> str:
        """The end of the reply: an unclosed `<think>` drops the rest; a held piece that never
        became a tag was text after all."""
        held, self._held = self._held, ""
        if self._inside:
            self.thought.append(held)
            return ""
        return self._visible(held)

    def _visible(self, text: str) -> str:
        if not self._started:
            text = text.lstrip()
            self._started = bool(text)
        return text


class StreamedCalls:
    """Collects streamed `tool_calls` deltas by index."""

    def __init__(self) -> None:
        self._slots: dict[int, dict[str, Any]] = {}

    def add(self, fragments: Iterable[Mapping[str, Any]]) -> list[str]:
        """Take one delta's fragments; returns the names of calls first named in it."""
        named: list[str] = []
        for fragment in fragments:
            # Some servers omit `index` when they send each call whole, in one piece.
            index = fragment.get("index")
            slot = self._slots.setdefault(len(self._slots) if index is None else int(index),
                                          {"id": None, "name": "", "arguments": []})
            slot["id"] = fragment.get("id") or slot["id"]
            function = fragment.get("function") or {}
            if function.get("name") and not slot["name"]:
                slot["name"] = function["name"]
                named.append(slot["name"])
            arguments = function.get("arguments")
            if isinstance(arguments, str) and arguments:
                slot["arguments"].append(arguments)
            elif isinstance(arguments, Mapping):  # a server that sends an object, not text
                slot["arguments"].append(json.dumps(arguments, ensure_ascii=False))
        return named

    def calls(self) -> list[ToolCall]:
        out = []
        for _, slot in sorted(self._slots.items()):
            if not slot["name"]:
                raise MalformedToolCallError(
                    f"the server streamed a tool call without a function name: {slot}")
            out.append(sanitised_call(slot["name"], _joined(slot["arguments"]), slot["id"]))
        return out


def _joined(fragments: Sequence[str]) -> str:
    """The arguments text; a server that resends the whole text each time (some vLLM tool
    parsers did) is recognised by its last fragment being complete JSON on its own."""
    body = "".join(fragments)
    if len(fragments) > 1 and _loads(fragments[-1]) is not None and _loads(body) is None:
        return fragments[-1]
    return body


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def sanitised_call(name: str, raw: Any, call_id: str | None = None) -> ToolCall:
    """A `ToolCall` from a name and the arguments as sent (JSON text, an object or nothing)."""
    call_id = call_id or new_call_id()
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return ToolCall(id=call_id, name=name)
    if isinstance(raw, Mapping):
        return ToolCall(id=call_id, name=name, arguments=dict(raw))
    value = _loads(raw)
    if value is None:
        value = repaired_json(raw)
        if isinstance(value, dict):
            log.info("repaired the arguments of %s: %r -> %r", name, raw[:200], value)
    if isinstance(value, dict):
        return ToolCall(id=call_id, name=name, arguments=value)
    log.warning("the arguments of %s are not a JSON object, the tool will ask for them again: "
                "%r", name, raw[:200])
    # Deliberately unvalidated: the raw text reaches `Tool.invoke`, whose argument check
    # answers with an error result naming the JSON problem, and the model retries the call
    # on its next round (the path a malformed text call takes, `tools.MalformedToolCall`).
    return ToolCall.model_construct(id=call_id, name=name, arguments=raw)


def repaired_json(raw: str) -> Any:
    """`raw` as JSON after the repairs a streamed call commonly needs, or None: a code fence
    around it, text after the object, and closing brackets the token limit cut off. A text
    cut inside a string or after a key is not repaired: guessing the rest could run the tool
    with a value the model never chose."""
    text = raw.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    start = text.find("{")
    if start < 0:
        return None
    text = text[start:]
    try:
        value, _ = json.JSONDecoder().raw_decode(text)  # ignores anything after the object
        return value
    except json.JSONDecodeError:
        pass
    closed = _closed(text)
    return None if closed is None else _loads(closed)


def _closed(text: str) -> str | None:
    """`text` with the brackets it left open closed, or None when it stops mid-value."""
    stack: list[str] = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    text = text.rstrip().rstrip(",")
    # Complete values end in a quote, a bracket, true/false or null; a number may be cut.
    if in_string or not text or text[-1] not in '"}]{[el':
        return None
    return text + "".join(reversed(stack))
