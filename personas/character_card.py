"""Character Card V2/V3 (`../shared/reference/character-cards/SPEC_V3.md`) <-> `Persona`.

Import maps the card's prompt fields onto the persona and keeps everything else, so export
gives the same card back:
- `data.extensions` becomes `persona.extensions` (unknown keys included);
- card fields a persona has no place for (creator, tags, assets, nickname, V1 top-level
  fields, ...) are kept in `persona.extensions["character_card"]`;
- stepvox's own persona fields (voice, default style, tags, tools) travel inside the card as
  `data.extensions["stepvox"]`, so a card exported from stepvox re-imports complete.
`{{char}}`/`{{user}}` stay as written and expand when the prompt is built.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import ValidationError

from personas.errors import CardFieldError, CardFormatError, CardSpecError
from personas.lorebook import Lorebook
from personas.persona import Persona

V2, V3 = "chara_card_v2", "chara_card_v3"
CARD_KEY = "character_card"  # in persona.extensions: what the persona has no field for
STEPVOX_KEY = "stepvox"  # in the card's data.extensions: the persona's stepvox-only fields
_MAPPED = {"name", "description", "personality", "scenario", "system_prompt", "first_mes",
           "alternate_greetings", "mes_example", "extensions", "character_book"}
_STEPVOX_FIELDS = ("voice", "default_style", "style_tags", "allowed_tools", "filler_phrases",
                   "language")
_TEXT_FIELDS = ("name", "description", "personality", "scenario", "system_prompt", "first_mes",
                "mes_example", "creator_notes", "post_history_instructions", "creator",
                "character_version")
_START = re.compile(r"^\s*<START>\s*$", re.MULTILINE | re.IGNORECASE)


def card_to_persona(card: Any) -> Persona:
    """A parsed card (the JSON object) -> `Persona`. Raises a `CharacterCardError` subclass."""
    if not isinstance(card, dict):
        raise CardFormatError(f"a character card is a JSON object, not a {type(card).__name__}")
    spec = card.get("spec")
    if spec in (V2, V3):
        data = card.get("data")
        if not isinstance(data, dict):
            raise CardFieldError(f"{spec} card without a 'data' object")
        top_level = {k: v for k, v in card.items() if k not in ("spec", "spec_version", "data")}
    elif spec is None and isinstance(card.get("name"), str) and "first_mes" in card:
        data, top_level = card, {}  # a V1 card: the fields at the top level
    else:
        raise CardSpecError(f"unsupported card spec {spec!r}: expected {V2!r} or {V3!r} "
                            "(or a V1 card with name and first_mes at the top level)")
    _check_types(data)
    extensions = copy.deepcopy(data.get("extensions") or {})
    if not isinstance(extensions, dict):
        raise CardFieldError("data.extensions must be an object")
    own = extensions.pop(STEPVOX_KEY, {}) or {}
    lore = None
    if data.get("character_book") is not None:
        try:
            lore = Lorebook.model_validate(data["character_book"])
        except ValidationError as exc:
            raise CardFieldError(f"data.character_book is invalid: {_first(exc)}") from None
    kept = {k: copy.deepcopy(v) for k, v in data.items() if k not in _MAPPED}
    kept["mes_example"] = data.get("mes_example", "")
    extensions[CARD_KEY] = {"spec": spec, "spec_version": card.get("spec_version"),
                            "fields": kept, "top_level": copy.deepcopy(top_level)}
    fields: dict[str, Any] = {
        "name": data["name"],
        "description": data.get("description", ""),
        "personality": data.get("personality", ""),
        "scenario": data.get("scenario", ""),
        "system_prompt": data.get("system_prompt", ""),
        "greeting": data.get("first_mes", ""),
        "alternate_greetings": list(data.get("alternate_greetings") or []),
        "example_dialogues": split_examples(data.get("mes_example", "")),
        "lore": lore,
        "extensions": extensions,
    }
    fields |= {k: v for k, v in own.items() if k in _STEPVOX_FIELDS}
    if not (fields["system_prompt"].strip() or fields["description"].strip()):
        fields["system_prompt"] = "You are {{char}}."
        kept["system_prompt"] = data.get("system_prompt", "")
    try:
        return Persona.model_validate(fields)
    except ValidationError as exc:
        raise CardFieldError(f"card {data['name']!r} does not make a valid persona: "
                             f"{_first(exc)}") from None


def persona_to_card(persona: Persona, spec: str = V3) -> dict[str, Any]:
    """`Persona` -> card object (`spec` V2 or V3). An imported card comes back as it was."""
    if spec not in (V2, V3):
        raise CardSpecError(f"cannot export spec {spec!r}: choose {V2!r} or {V3!r}")
    extensions = copy.deepcopy(persona.extensions)
    origin = extensions.pop(CARD_KEY, None) or {}
    kept = copy.deepcopy(origin.get("fields", {}))
    own = persona.model_dump(mode="json", include=set(_STEPVOX_FIELDS), exclude_defaults=True)
    if own:
        extensions[STEPVOX_KEY] = own
    original_examples = kept.pop("mes_example", None)
    if original_examples is not None and \
            split_examples(original_examples) == persona.example_dialogues:
        mes_example = original_examples  # byte-exact when the examples did not change
    else:
        mes_example = join_examples(persona.example_dialogues)
    data: dict[str, Any] = {
        "name": persona.name, "description": persona.description,
        "personality": persona.personality, "scenario": persona.scenario,
        "first_mes": persona.greeting, "mes_example": mes_example,
        "system_prompt": kept.pop("system_prompt", persona.system_prompt),
        "alternate_greetings": list(persona.alternate_greetings),
        "extensions": extensions,
    }
    defaults = {"creator_notes": "", "post_history_instructions": "", "tags": [],
                "creator": "", "character_version": ""}
    if spec == V3:
        defaults["group_only_greetings"] = []
    data |= {k: v for k, v in defaults.items() if k not in kept} | kept
    if persona.lore is not None:
        data["character_book"] = persona.lore.model_dump(mode="json", exclude_unset=True)
    same_spec = origin.get("spec") == spec
    card = dict(origin.get("top_level", {})) if same_spec else {}
    card |= {"spec": spec,
             "spec_version": origin.get("spec_version") if same_spec and
             origin.get("spec_version") else ("3.0" if spec == V3 else "2.0"),
             "data": data}
    return card


def split_examples(mes_example: str) -> list[str]:
    """A card's `mes_example` (blocks opened by `<START>`) -> one string per example."""
    return [block.strip() for block in _START.split(mes_example or "") if block.strip()]


def join_examples(examples: list[str]) -> str:
    return "".join(f"<START>\n{e.strip()}\n" for e in examples)


def _check_types(data: dict[str, Any]) -> None:
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CardFieldError("the card has no name: data.name must be a non-empty string")
    for key in _TEXT_FIELDS:
        if key in data and not isinstance(data[key], str):
            raise CardFieldError(f"data.{key} must be a string, not {type(data[key]).__name__}")
    for key in ("alternate_greetings", "tags", "group_only_greetings"):
        value = data.get(key)
        if value is not None and not (isinstance(value, list) and
                                      all(isinstance(v, str) for v in value)):
            raise CardFieldError(f"data.{key} must be a list of strings")


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
