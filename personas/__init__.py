"""Personas: who the agent is, what it knows and how it sounds; character cards in and out.

May import speech (style tags); never agent, tools or memory.
"""

from personas.errors import (
    CardFieldError, CardFormatError, CardSpecError, CardTooLargeError, CharacterCardError,
    PersonaError, PersonaFileError, PersonaNotFoundError,
)
from personas.lorebook import LoreEntry, Lorebook, lorebook_from_world_info
from personas.persona import DEFAULT_PERSONA, Persona, PersonaVoice
from personas.persona_files import dump_persona, load_persona, parse_persona
from personas.persona_library import BUILTIN_PERSONA_DIR, PersonaLibrary
from personas.persona_prompt import expand_macros

__all__ = [
    "BUILTIN_PERSONA_DIR", "CardFieldError", "CardFormatError", "CardSpecError",
    "CardTooLargeError", "CharacterCardError", "DEFAULT_PERSONA", "LoreEntry", "Lorebook",
    "Persona", "PersonaError", "PersonaFileError", "PersonaLibrary", "PersonaNotFoundError",
    "PersonaVoice", "dump_persona", "expand_macros", "load_persona", "lorebook_from_world_info",
    "parse_persona",
]
