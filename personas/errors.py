"""Errors the personas package raises on purpose; each message says what to fix."""

from __future__ import annotations


class PersonaError(ValueError):
    """Base of every error the personas package raises on purpose."""


class PersonaFileError(PersonaError):
    """A persona file cannot be read or does not validate. `field` and `line` locate the
    first problem (line is 1-based; None where the format gives no line)."""

    def __init__(self, message: str, *, path: str = "", field: str = "",
                 line: int | None = None) -> None:
        super().__init__(message)
        self.path, self.field, self.line = path, field, line


class PersonaNotFoundError(PersonaError, LookupError):
    """No persona of that name in the library."""


class CharacterCardError(PersonaError):
    """A character card cannot be imported or exported."""


class CardFormatError(CharacterCardError):
    """The file is no card: not JSON, bad base64, no card chunk in the PNG, a broken zip."""


class CardSpecError(CharacterCardError):
    """The card names a spec this importer does not read (not chara_card_v2 / v3)."""


class CardFieldError(CharacterCardError):
    """A required card field is missing or has the wrong type."""


class CardTooLargeError(CharacterCardError):
    """The card file (or an image or asset in it) is over the size limit."""
