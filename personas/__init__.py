"""Personas: who the agent is and how it sounds."""

from personas.persona import DEFAULT_PERSONA, Persona

__all__ = ["DEFAULT_PERSONA", "Persona"]
