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
            svc = self.base.services
            self._agents[key] = VoiceAgent(
                svc.chat_model, decoder=svc.decoder, tokenizer=svc.tokenizer, vad=svc.vad,
                memory=svc.memory, tools=svc.tools, persona=self.library.get(persona),
                max_tool_rounds=svc.max_tool_rounds, history_turns=svc.history_turns,
                max_audio_s=self.base.max_audio_s, first_clause_words=svc.first_clause_words)
        return self._agents[key]
