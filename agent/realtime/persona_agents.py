"""One `VoiceAgent` per persona, all sharing one set of models, tools and memory.

A realtime session picks its persona with `session.update`; the models are loaded once for
the whole server, so a persona costs only its prompt, not another copy of the models. With
`voices` (what `stepvox serve` passes), a persona's language is honoured too: 小跃 (`zh`)
gets the loaded Whisper listening for Chinese and the Mandarin voice, loaded on the first
Chinese session.
"""

from __future__ import annotations

from personas import PersonaError, PersonaLibrary, PersonaNotFoundError

from agent.setup.language_voices import LanguageVoices
from agent.models.errors import ModelError
from agent.voice_agent import VoiceAgent


class PersonaLanguageError(PersonaError):
    """A persona's language cannot be served by the loaded models (tiny.en for a Chinese
    persona, the Mandarin voice not installed); the session gets it as `invalid_session`."""


class PersonaAgents:
    def __init__(self, base: VoiceAgent, library: PersonaLibrary | None = None, *,
                 voices: LanguageVoices | None = None) -> None:
        self.base = base
        self.library = library
        self.voices = voices
        self._agents: dict[str, VoiceAgent] = {}

    def names(self) -> list[str]:
        return self.library.names() if self.library is not None else []

    def get(self, persona: str | None) -> VoiceAgent:
        """The agent speaking as `persona` (None: the base agent's own persona).
        Raises `PersonaNotFoundError` for a name the library does not have, and
        `PersonaLanguageError` when its language cannot be spoken or heard here."""
        if not persona:
            return self.base
        if self.library is None:
            raise PersonaNotFoundError(
                f"no persona named {persona!r}: this server has no persona library")
        key = persona.strip().lower()
        if key not in self._agents:
            agent = self.base.for_persona(self.library.get(persona))
            if self.voices is not None:
                try:
                    agent = self.voices.agent_speaking(agent)
                except ModelError as exc:
                    raise PersonaLanguageError(str(exc)) from exc
            self._agents[key] = agent
        agent = self._agents[key]
        for_session = getattr(agent.services.decoder, "for_session", None)
        if for_session is not None:
            # Each session its own bilingual wrapper (the voices inside are shared): a
            # dialect fallback is logged once per session, not once per server.
            return agent.with_services(decoder=for_session())
        return agent
