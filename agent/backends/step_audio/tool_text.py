"""Step-Audio tool calls written as text: `<tool_call>function\\n{name}\\n{json}</tool_call>`.

The Step-Audio family may say a filler sentence first ("Let me check."), then the call. The
splitter passes filler text on at once (so it can be spoken while the tool runs) and holds back
only what could be the start of `<tool_call>`.

Private to the Step-Audio backends for now; to be folded into the shared tool-call formats
(`tools/call_formats.py`) once that lands.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from agent.chat_model import ToolCall
from agent.backends.step_audio.errors import MalformedToolCallError

OPEN = "<tool_call>"
CLOSE = "</tool_call>"


def render_tool_call(call: ToolCall) -> str:
    """A call as the model writes it, for assistant turns in the history."""
    return f"{OPEN}function\n{call.name}\n{json.dumps(call.arguments, ensure_ascii=False)}{CLOSE}"


def parse_tool_call_body(body: str) -> ToolCall:
    """The text between the tags -> ToolCall. Also reads `{"name":..,"arguments":..}` bodies,
    which fine-tuned variants write."""
    text = body.strip()
    if text.startswith("{"):
        data = _json(text, body)
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise MalformedToolCallError(f"tool call JSON has no function name: {body[:200]!r}")
        return ToolCall(name=data["name"], arguments=_arguments(data.get("arguments"), body))
    kind, _, rest = text.partition("\n")
    if kind.strip() != "function":
        raise MalformedToolCallError(
            f"tool call should start with 'function' on its own line, got {body[:200]!r}")
    name, _, raw_args = rest.strip().partition("\n")
    name = name.strip()
    if not name or not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise MalformedToolCallError(f"tool call has no valid function name: {body[:200]!r}")
    return ToolCall(name=name, arguments=_arguments(_json(raw_args, body) if raw_args.strip()
                                                    else {}, body))


def _json(text: str, body: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedToolCallError(
            f"tool call arguments are not valid JSON ({exc.msg}): {body[:200]!r}") from exc


def _arguments(value, body: str) -> dict:
    if value is None:
        return {}
    if isinstance(value, str):  # some servers double-encode arguments
        value = _json(value, body) if value.strip() else {}
    if not isinstance(value, dict):
        raise MalformedToolCallError(f"tool call arguments must be a JSON object: {body[:200]!r}")
    return value


@dataclass(slots=True)
class TextPiece:
    text: str


@dataclass(slots=True)
class CallPiece:
    call: ToolCall


class ToolCallSplitter:
    """Feed streamed text; get back text pieces and parsed calls in order."""

    def __init__(self) -> None:
        self._buffer = ""
        self._in_call = False

    def feed(self, text: str) -> list[TextPiece | CallPiece]:
        self._buffer += text
        out: list[TextPiece | CallPiece] = []
        while True:
            if self._in_call:
                end = self._buffer.find(CLOSE)
                if end == -1:
                    return out
                out.append(CallPiece(parse_tool_call_body(self._buffer[:end])))
                self._buffer = self._buffer[end + len(CLOSE):]
                self._in_call = False
                continue
            start = self._buffer.find(OPEN)
            if start != -1:
                if start:
                    out.append(TextPiece(self._buffer[:start]))
                self._buffer = self._buffer[start + len(OPEN):]
                self._in_call = True
                continue
            keep = _partial_open_len(self._buffer)
            ready = self._buffer[:len(self._buffer) - keep]
            if ready:
                out.append(TextPiece(ready))
            self._buffer = self._buffer[len(ready):]
            return out

    def finish(self) -> list[TextPiece | CallPiece]:
        """End of the reply: a call still open is parsed if its body is complete (servers may
        stop on the closing tag and not send it); otherwise it was cut off."""
        rest, self._buffer = self._buffer, ""
        if self._in_call:
            self._in_call = False
            try:
                return [CallPiece(parse_tool_call_body(rest))]
            except MalformedToolCallError as exc:
                raise MalformedToolCallError(f"the tool call was cut off or malformed: {exc}") \
                    from exc
        return [TextPiece(rest)] if rest else []


def _partial_open_len(text: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `<tool_call>`."""
    for n in range(min(len(OPEN) - 1, len(text)), 0, -1):
        if text.endswith(OPEN[:n]):
            return n
    return 0
