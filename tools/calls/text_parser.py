"""Finds tool calls in the *text* a model wrote, for backends without a native tool API.

Formats, tried in this order:
- Step-Audio 2: `<tool_call>function\\n{name}\\n{json arguments}</tool_call>`, often after a
  spoken filler sentence;
- Qwen / Hermes: `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`;
- a fenced code block holding such a JSON object (or a list of them);
- bare JSON: such an object (or list) written as the reply, possibly after a filler.

Only names in `known` count as calls; anything else stays text, so a model that merely
talks about JSON is never executed. With `known=None` every name counts (for tests, logs).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from tools.calls.parsed import MalformedToolCall, ParsedReply, ParsedToolCall

_TAGGED = re.compile(r"<tool_call>(.*?)(?:</tool_call>|\Z)", re.DOTALL)
_STEP_AUDIO_BODY = re.compile(r"\A\s*function\s*\n\s*([^\s{}]+)\s*(.*)\Z", re.DOTALL)
_FENCE = re.compile(r"```[ \t]*([A-Za-z_]*)[ \t]*\n(.*?)```", re.DOTALL)
_JSON_CALL_START = re.compile(r'[\[{]\s*(?:\{\s*)?"(?:name|function|type)"\s*:')
_NAME_IN_JSON = re.compile(r'"name"\s*:\s*"([^"]+)"')


class _Found:
    """Calls found so far; decides per candidate whether it is a call or stays text."""

    def __init__(self, known: Collection[str] | None) -> None:
        self.known = known
        self.calls: list[ParsedToolCall] = []
        self.malformed: list[MalformedToolCall] = []

    def is_known(self, name: str | None) -> bool:
        return name is not None and (self.known is None or name in self.known)


def parse_text_calls(text: str, known: Collection[str] | None = None) -> ParsedReply:
    """Split `text` into spoken text and tool calls (see the module docstring)."""
    found = _Found(known)
    if "<tool_call>" in text:
        rest = _take_tagged(text, found)
    else:
        rest = _take_fenced(text, found)
        if not found.calls:
            rest = _take_bare(rest, found)
    return ParsedReply(text=_tidy(rest), calls=found.calls, malformed=found.malformed)


def _take_tagged(text: str, found: _Found) -> str:
    def replace(match: re.Match[str]) -> str:
        body = match.group(1)
        closed = match.group(0).endswith("</tool_call>")
        step = _STEP_AUDIO_BODY.match(body)
        if step:
            name, raw = step.group(1), (step.group(2) or "").strip()
            if not found.is_known(name):
                return match.group(0)
            if not closed:
                found.malformed.append(_malformed(name, body, "the call was cut off before </tool_call>"))
                return ""
            arguments, problem = _arguments_object(raw)
            if problem:
                found.malformed.append(_malformed(name, raw, problem))
            else:
                found.calls.append(ParsedToolCall(name=name, arguments=arguments))
            return ""
        return "" if _take_json_calls(body.strip(), found, strict=True) else match.group(0)

    return _TAGGED.sub(replace, text)


def _take_fenced(text: str, found: _Found) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(1).lower() not in ("", "json", "tool_call", "tool_code", "function"):
            return match.group(0)  # ```python ... is code, not a call
        return "" if _take_json_calls(match.group(2).strip(), found, strict=False) else match.group(0)

    return _FENCE.sub(replace, text)


def _take_bare(text: str, found: _Found) -> str:
    """Take every bare JSON call (models sometimes write one per line); the rest is text."""
    # JSON inside a code fence that was not a call (```python ...) is code, not a call.
    fenced = [m.span() for m in _FENCE.finditer(text)]
    kept, position = [], 0
    for match in _JSON_CALL_START.finditer(text):
        start = match.start()
        if start < position or any(a <= start < b for a, b in fenced):
            continue
        try:
            value, length = json.JSONDecoder().raw_decode(text[start:])
        except json.JSONDecodeError:
            continue  # unreadable JSON without a <tool_call> tag is just text
        if _take_value(value, found):
            kept.append(text[position:start])
            position = start + length
    kept.append(text[position:])
    return " ".join(kept)


def _take_json_calls(body: str, found: _Found, *, strict: bool) -> bool:
    """Take the call(s) in `body`; True when `body` was consumed as calls.

    `strict` (inside a <tool_call> tag, where intent is certain) reports unreadable JSON
    to a known or unnamed tool as malformed; elsewhere unreadable JSON stays text.
    """
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        if not strict:
            return False
        name_match = _NAME_IN_JSON.search(body)
        name = name_match.group(1) if name_match else None
        if name is not None and not found.is_known(name):
            return False
        found.malformed.append(_malformed(name, body, f"invalid JSON ({exc.msg} at position {exc.pos})"))
        return True
    return _take_value(value, found)


def _take_value(value: Any, found: _Found) -> bool:
    items = value if isinstance(value, list) else [value]
    shaped = [_call_shape(item) for item in items]
    # All or nothing: a list where one entry is not a call to a known tool stays text.
    if not items or any(s is None or not found.is_known(s[0]) for s in shaped):
        return False
    for name, raw_arguments in shaped:  # type: ignore[misc]
        arguments, problem = _arguments_object(raw_arguments)
        if problem:
            found.malformed.append(_malformed(name, json.dumps(raw_arguments, ensure_ascii=False), problem))
        else:
            found.calls.append(ParsedToolCall(name=name, arguments=arguments))
    return True


def _call_shape(item: Any) -> tuple[str, Any] | None:
    """(name, arguments) of a JSON call object in any of the common spellings."""
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("function"), dict):  # OpenAI {"type": "function", "function": {...}}
        item = item["function"]
    name = item.get("name")
    if not isinstance(name, str):
        return None
    for key in ("arguments", "parameters", "args"):
        if key in item:
            return name, item[key]
    return name, {}


def _arguments_object(raw: Any) -> tuple[dict[str, Any], str | None]:
    """The arguments as a dict, or an explanation of why they are not one."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}, None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            return {}, f"the arguments are not valid JSON ({exc.msg} at position {exc.pos})"
    if not isinstance(raw, dict):
        return {}, f"the arguments must be a JSON object, not {type(raw).__name__}"
    return raw, None


def _malformed(name: str | None, raw: str, message: str) -> MalformedToolCall:
    return MalformedToolCall(name=name, raw=raw.strip(), message=message)


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]*\n\s*\n+", "\n", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()
