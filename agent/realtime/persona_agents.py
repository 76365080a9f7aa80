"""One `VoiceAgent` per persona, all sharing one set of models, tools and memory.

A realtime session picks its persona with `session.update`; the models are loaded once for
the whole server, so a persona costs only its prompt, not another copy of the models.
"""

from __future__ import annotations

from personas import PersonaLibrary, PersonaNotFoundError

from agent.voice_agent import VoiceAgent


class PersonaAgents:
    def __init__(self, base: VoiceAgent, library: PersonaLibrary | None = None) -> None:
        self.base = base
        self.library = library
        self._agents: dict[str, VoiceAgent] = {}

    def names(self) -> list[str]:
        return self.library.names() if self.library is not None else []

    def get(self, persona: str | None) -> VoiceAgent:
        """The agent speaking as `persona` (None: the base agent's own persona).
        Raises `PersonaNotFoundError` for a name the library does not have."""
        if not persona:
            return self.base
        if self.library is None:
            raise PersonaNotFoundError(
                f"no persona named {persona!r}: this server has no persona library")
        key = persona.strip().lower()
        if key not in self._agents:
            self._agents[key] = self.base.for_persona(self.library.get(persona))
        return self._agents[key]
