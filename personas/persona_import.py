"""One entry point for `stepvox personas import/export`: persona files and character cards.

A `.yaml`/`.yml` file, or a `.json` file without a card `spec`, is a persona file; a `.png`,
a `.charx`, or a `.json` with `spec: chara_card_v2/v3` (or a V1 card) is a character card.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from personas.card_files import read_card, write_card
from personas.character_card import V2, V3, card_to_persona, persona_to_card
from personas.errors import PersonaFileError
from personas.persona import Persona
from personas.persona_files import dump_persona, load_persona

ExportFormat = Literal["yaml", "json", "card-json", "png", "charx"]
_CARD_SPECS = {"v2": V2, "v3": V3, V2: V2, V3: V3}


def import_persona(path: str | Path) -> Persona:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return load_persona(path)
    if not is_card_file(path):
        return load_persona(path)
    return card_to_persona(read_card(path).card)


def is_card_file(path: str | Path) -> bool:
    """A character card (PNG, CHARX or card JSON), not a persona file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return False
    return suffix != ".json" or _is_card_json(path)


def export_persona(persona: Persona, path: str | Path, fmt: ExportFormat | None = None, *,
                   spec: str = "v3", image: bytes | None = None,
                   assets: dict[str, bytes] | None = None) -> Path:
    """Write `persona` as a persona file (`yaml`, `json`) or a character card (`card-json`,
    `png`, `charx`); the format defaults from the suffix (`.json` = a card)."""
    path = Path(path)
    fmt = fmt or {".yaml": "yaml", ".yml": "yaml", ".png": "png", ".charx": "charx"}.get(
        path.suffix.lower(), "card-json")
    if fmt in ("yaml", "json"):
        path.write_text(dump_persona(persona, fmt), encoding="utf-8")
        return path
    if spec not in _CARD_SPECS:
        raise PersonaFileError(f"unknown card spec {spec!r}: use v2 or v3")
    card = persona_to_card(persona, _CARD_SPECS[spec])
    target = path if fmt != "card-json" or path.suffix.lower() == ".json" else \
        path.with_suffix(".json")
    return write_card(card, target, image=image, assets=assets)


def _is_card_json(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return True  # let the card reader produce the precise error
    return isinstance(data, dict) and ("spec" in data or "first_mes" in data)
