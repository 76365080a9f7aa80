"""Reads a tool's description and per-argument descriptions out of a docstring.

Only what a model needs is extracted: the first paragraph (the summary a model sees as the
tool's description) and a Google-style `Args:` section. Other sections (Returns, Raises,
Examples...) describe the Python side and are deliberately left out of the schema.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

# Headers that open a Google-style section; `Args:` and its synonyms are the ones we read.
# Only known names count, so a summary line that happens to end in ":" is not a header.
_ARGS_HEADERS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments"}
_OTHER_HEADERS = {
    "returns", "return", "yields", "yield", "raises", "examples", "example", "note", "notes",
    "attributes", "see also", "warning", "warnings", "todo", "references",
}
_SECTION_HEADER = re.compile(r"^([A-Za-z][A-Za-z ]*):\s*$")
# `name (type): text` or `name: text`; the type in parentheses is ignored because the
# annotation is the source of truth for types.
_ARG_LINE = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


@dataclass(frozen=True, slots=True)
class ParsedDocstring:
    summary: str = ""
    args: dict[str, str] = field(default_factory=dict)


def parse_docstring(doc: str | None) -> ParsedDocstring:
    """Split a docstring into its first paragraph and its `Args:` descriptions."""
    if not doc or not doc.strip():
        return ParsedDocstring()
    lines = inspect.cleandoc(doc).splitlines()
    return ParsedDocstring(summary=_summary(lines), args=_args_section(lines))


def _section_name(line: str) -> str | None:
    """The lower-cased section name if `line` is a Google-style section header."""
    match = _SECTION_HEADER.match(line.strip())
    if match is None or line[:1].isspace():
        return None
    name = match.group(1).strip().lower()
    return name if name in _ARGS_HEADERS | _OTHER_HEADERS else None


def _summary(lines: list[str]) -> str:
    paragraph: list[str] = []
    for line in lines:
        stripped = line.strip()
        if _section_name(line) is not None:
            break
        if not stripped:
            if paragraph:
                break
            continue
        paragraph.append(stripped)
    return " ".join(paragraph)


def _args_section(lines: list[str]) -> dict[str, str]:
    args: dict[str, str] = {}
    in_args = False
    arg_indent: int | None = None
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        section = _section_name(line)
        # A header at column 0 opens or closes a section; indented "x:" lines are arguments.
        if section is not None:
            in_args = section in _ARGS_HEADERS
            arg_indent, current = None, None
            continue
        if not in_args or not stripped:
            continue
        if arg_indent is None:
            arg_indent = indent
        match = _ARG_LINE.match(stripped)
        if indent <= arg_indent and match:
            current = match.group(1)
            args[current] = match.group(2).strip()
        elif current is not None and indent > arg_indent:
            # Continuation line of the previous argument's description.
            args[current] = f"{args[current]} {stripped}".strip()
    return args
