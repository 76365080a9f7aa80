"""Tool calls from OpenAI-compatible chat APIs (vLLM, llama.cpp server, StepFun's fork).

A whole message carries `tool_calls=[{"id", "function": {"name", "arguments": "<json>"}}]`;
a stream spreads the same over `delta`s: the first piece of each call (by `index`) brings
its id and name, later pieces append fragments of the arguments JSON. The arguments are
only parsed once the stream ends, because any fragment on its own is invalid JSON.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from tools.calls.parsed import MalformedToolCall, ParsedReply, ParsedToolCall, new_call_id
from tools.calls.text_parser import parse_text_calls


def parse_openai_message(message: Mapping[str, Any], known: Collection[str] | None = None) -> ParsedReply:
    """Calls and text of one assistant message (`choices[0].message`).

    A server started without a tool-call parser leaves the calls in `content` as text; that
    case falls back to the text formats, so the same model works either way.
    """
    content = _content_text(message.get("content"))
    raw_calls = list(message.get("tool_calls") or [])
    if not raw_calls and isinstance(message.get("function_call"), Mapping):  # the legacy field
        raw_calls = [{"function": message["function_call"]}]
    if not raw_calls:
        return parse_text_calls(content, known)
    reply = ParsedReply(text=content.strip())
    unknown: list[str] = []
    for raw in raw_calls:
        function = raw.get("function") or {}
        name = function.get("name") or ""
        _add_call(reply, unknown, known, raw.get("id") or new_call_id(), name, function.get("arguments"))
    if unknown:
        reply.text = "\n".join([reply.text, *unknown]).strip()
    return reply


class OpenAIStreamCalls:
    """Collects streamed `delta`s; `reply()` gives the finished text and calls."""

    def __init__(self, known: Collection[str] | None = None) -> None:
        self.known = known
        self._text: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}

    def add(self, delta: Mapping[str, Any]) -> str:
        """Take one `choices[0].delta`; returns its text piece ('' if none) for streaming on."""
        piece = _content_text(delta.get("content"))
        if piece:
            self._text.append(piece)
        for fragment in delta.get("tool_calls") or []:
            # Some servers omit `index` when they send a single call in one piece.
            slot = self._calls.setdefault(fragment.get("index", len(self._calls)), {"arguments": ""})
            if fragment.get("id"):
                slot["id"] = fragment["id"]
            function = fragment.get("function") or {}
            if function.get("name"):
                slot["name"] = slot.get("name", "") + function["name"]
            if function.get("arguments"):
                slot["arguments"] += function["arguments"]
        return piece

    @property
    def has_calls(self) -> bool:
        return bool(self._calls)

    def reply(self) -> ParsedReply:
        if not self._calls:
            return parse_text_calls("".join(self._text), self.known)
        reply = ParsedReply(text="".join(self._text).strip())
        unknown: list[str] = []
        for index in sorted(self._calls):
            slot = self._calls[index]
            _add_call(reply, unknown, self.known, slot.get("id") or new_call_id(),
                      slot.get("name", ""), slot["arguments"])
        if unknown:
            reply.text = "\n".join([reply.text, *unknown]).strip()
        return reply


def _add_call(
    reply: ParsedReply, unknown: list[str], known: Collection[str] | None, call_id: str, name: str, raw: Any
) -> None:
    if not name or (known is not None and name not in known):
        # Treated as text, like an unknown call in a text format; kept visible for the log.
        unknown.append(f"{name}({raw if isinstance(raw, str) else json.dumps(raw)})")
        return
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        reply.calls.append(ParsedToolCall(id=call_id, name=name))
        return
    try:
        arguments = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        reply.malformed.append(MalformedToolCall(
            id=call_id, name=name, raw=raw,
            message=f"the arguments are not valid JSON ({exc.msg} at position {exc.pos})"))
        return
    if not isinstance(arguments, dict):
        reply.malformed.append(MalformedToolCall(
            id=call_id, name=name, raw=str(raw), message="the arguments must be a JSON object"))
        return
    reply.calls.append(ParsedToolCall(id=call_id, name=name, arguments=arguments))


def _content_text(content: Any) -> str:
    """`content` as text: a string, or the text parts of a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("type") == "text")
    return str(content)
