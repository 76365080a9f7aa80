"""Persona files: YAML or JSON in, validated `Persona` out, with errors that name field and line.

    name: Mia
    system_prompt: You are Mia, ...
    default_style: {emotion: happy, speed: 1}
    voice: en_US-joe-medium          # or {prompt_wav: mia.wav, prompt_text: "..."}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from personas.errors import PersonaFileError
from personas.persona import Persona

PersonaFormat = Literal["yaml", "json"]


def load_persona(path: str | Path) -> Persona:
    """Read one persona file (`.yaml`/`.yml`/`.json`). A relative `voice.prompt_wav` is taken
    relative to the file, so a persona folder can be moved as a whole."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PersonaFileError(f"cannot read persona file {path}: {exc}", path=str(path)) from exc
    fmt: PersonaFormat = "json" if path.suffix.lower() == ".json" else "yaml"
    persona = parse_persona(text, fmt=fmt, source=str(path))
    wav = persona.voice.prompt_wav
    if wav and not Path(wav).is_absolute():
        voice = persona.voice.model_copy(update={"prompt_wav": str(path.parent / wav)})
        persona = persona.model_copy(update={"voice": voice})
    return persona


def parse_persona(text: str, *, fmt: PersonaFormat = "yaml", source: str = "<persona>") -> Persona:
    data = _parse_document(text, fmt, source)
    if not isinstance(data, dict):
        raise PersonaFileError(f"{source}: a persona file holds one mapping (name: ..., "
                               f"system_prompt: ...), not a {type(data).__name__}", path=source)
    try:
        return Persona.model_validate(data)
    except ValidationError as exc:
        raise _located(exc, text, source) from None


def dump_persona(persona: Persona, fmt: PersonaFormat = "yaml") -> str:
    """The persona as a file body; defaults are left out so files stay short."""
    data = persona.model_dump(mode="json", exclude_defaults=True)
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def _parse_document(text: str, fmt: PersonaFormat, source: str) -> Any:
    if fmt == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise PersonaFileError(f"{source}:{exc.lineno}: not valid JSON: {exc.msg}",
                                   path=source, line=exc.lineno) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise PersonaFileError(f"{source}:{line or '?'}: not valid YAML: "
                               f"{getattr(exc, 'problem', exc)}", path=source, line=line) from None


def _located(exc: ValidationError, text: str, source: str) -> PersonaFileError:
    problems = []
    for error in exc.errors():
        loc = [part for part in error["loc"] if isinstance(part, (str, int))]
        field = ".".join(str(part) for part in loc) or "(persona)"
        line = _line_of(text, loc)
        problems.append((field, line, error["msg"]))
    lines = [f"{source}:{line or '?'}: {field}: {msg}" for field, line, msg in problems]
    first_field, first_line, _ = problems[0]
    return PersonaFileError("invalid persona:\n" + "\n".join(lines), path=source,
                            field=first_field, line=first_line)


def _line_of(text: str, loc: list[str | int]) -> int | None:
    """The 1-based line of the node at `loc` (or of its deepest existing parent, e.g. the
    mapping that lacks a required field). JSON is read as YAML here just for the marks."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == part), None)
            if pair is None:
                break  # a missing field: the mapping that should hold it
            line, node = pair[0].start_mark.line + 1, pair[1]  # the key's line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and \
                part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
