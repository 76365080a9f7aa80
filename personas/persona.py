"""A persona: who the agent is. Here a system prompt, a greeting and a voice; the full persona
system (cards, lore, styles) builds on this model."""

from __future__ import annotations

from pydantic import BaseModel, Field

_SPOKEN_RULES = (
    "Your replies are spoken aloud by a speech synthesizer: answer in one to three short "
    "sentences of plain words. No lists, no markdown, no emojis, no URLs."
)


class Persona(BaseModel):
    name: str = Field(min_length=1)
    system_prompt: str = Field(min_length=1)
    greeting: str = ""
    voice: str | None = None  # a decoder voice id; None = the decoder's default

    def full_system_prompt(self) -> str:
        return f"{self.system_prompt.strip()}\n\n{_SPOKEN_RULES}"


DEFAULT_PERSONA = Persona(
    name="Joe",
    system_prompt="You are Joe, a friendly and helpful voice assistant.",
    greeting="Hi, I'm Joe. What can I do for you?",
)
