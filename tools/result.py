"""What one tool call produced, and how a Python return value becomes text for the model."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic_core import to_jsonable_python

from tools.untrusted_output import as_untrusted_data, bound_text

# A tool's failure for a value it has no record of, in an exception's name
# ("BookingNotFoundError") or in words: the honesty layer's "not found" sentence and the
# call made again for the caller's corrected code both read it.
NOT_FOUND = re.compile(
    r"not found|notfound|no (?:such|match|matching|record|booking|reservation|order|result|"
    r"results|entry|data|place|account|flight)\b|does not exist|doesn't exist|could not find|"
    r"couldn't find|unknown (?:booking|order|account|id|code)|missing from", re.I)


class ToolResult(BaseModel):
    """The outcome of one tool call, ready to be sent back to the model as a tool message.

    `is_error` results are still normal results: their `content` explains the problem in
    words the model can act on (fix the arguments, try another tool, tell the user).
    """

    model_config = ConfigDict(frozen=True)

    name: str
    call_id: str | None = None
    arguments: dict[str, Any]
    content: str
    is_error: bool = False
    latency_ms: float
    truncated: bool = False

    def bounded(self, max_chars: int | None) -> ToolResult:
        """This result with `content` cut to `max_chars` (a marker says how much was cut)."""
        content, cut = bound_text(self.content, max_chars)
        if not cut:
            return self
        return self.model_copy(update={"content": content, "truncated": True})

    def for_prompt(self) -> str:
        """The content framed as untrusted data with control tokens defused, for a prompt."""
        return as_untrusted_data(self.name, self.content, is_error=self.is_error)


def render_content(value: Any) -> str:
    """The text a model sees for a tool's return value.

    Strings pass through; structured values (pydantic models, dicts, lists, tuples) become
    compact JSON, non-ASCII kept as-is because escapes cost tokens and hurt readability;
    None becomes "null" so a tool that only acts still reports something; anything else
    uses `str()`.
    """
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, BaseModel):
        return value.model_dump_json(by_alias=True)
    if isinstance(value, (dict, list, tuple)):
        # `fallback=str` so one odd value (a Path, a custom object) does not fail the call.
        plain = to_jsonable_python(value, by_alias=True, fallback=str)
        return json.dumps(plain, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def describe_exception(exc: BaseException) -> str:
    """`"ValueError: message"`, or just the type name when the message is empty."""
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
