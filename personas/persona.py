"""A persona: who the agent is, what it knows, how it sounds.

Plain data (loaded from YAML/JSON by `personas.persona_files`, converted to and from character
cards by `personas.character_card`). The system prompt is assembled in a fixed, documented
order by `full_system_prompt` (see `personas.persona_prompt`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from personas.lorebook import Lorebook
from personas.persona_prompt import assemble_system_prompt, expand_macros, keyed_lore_note
from speech.style import NEUTRAL, Style
from speech.style_tags import allowed_tag_keys


class PersonaVoice(BaseModel):
    """How the persona sounds: a decoder voice id, or a prompt WAV and its transcript (what
    Step-Audio-TTS clones a voice from, reference section 5). Empty = the decoder's default."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    prompt_wav: str | None = None  # a path; relative paths are relative to the persona file
    prompt_text: str | None = None

    @model_validator(mode="after")
    def _prompt_needs_transcript(self) -> PersonaVoice:
        if bool(self.prompt_wav) != bool(self.prompt_text):
            raise ValueError("prompt_wav and prompt_text go together: cloning needs the WAV "
                             "and the exact words spoken in it")
        return self


class Persona(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    system_prompt: str = ""
    description: str = ""
    personality: str = ""
    scenario: str = ""
    greeting: str = ""
    alternate_greetings: list[str] = Field(default_factory=list)
    # Each item one example exchange, written with {{char}} / {{user}}.
    example_dialogues: list[str] = Field(default_factory=list)
    voice: PersonaVoice = Field(default_factory=PersonaVoice)
    default_style: Style = NEUTRAL
    # Style tags the model is told it may use (any spelling: "happy", "高兴", "[Laughter]").
    # Empty: the prompt mentions no tags (every known tag is still stripped from speech).
    style_tags: list[str] = Field(default_factory=list)
    allowed_tools: list[str] | None = None  # None = every tool the agent has
    filler_phrases: list[str] = Field(default_factory=list)
    language: str = "en"
    lore: Lorebook | None = None
    # Free-form data for other programs (and a card's unknown fields on the way through).
    extensions: dict[str, Any] = Field(default_factory=dict)

    @field_validator("voice", mode="before")
    @classmethod
    def _voice_id_shorthand(cls, value: Any) -> Any:
        return {"id": value} if isinstance(value, str) else value if value is not None else {}

    @field_validator("style_tags")
    @classmethod
    def _known_tags(cls, value: list[str]) -> list[str]:
        allowed_tag_keys([v.strip("()（）[]") for v in value])  # raises on an unknown name
        return [v.strip("()（）[]") for v in value]

    @model_validator(mode="after")
    def _something_to_say(self) -> Persona:
        if not (self.system_prompt.strip() or self.description.strip()):
            raise ValueError("a persona needs a system_prompt or a description")
        return self

    @property
    def greetings(self) -> list[str]:
        """The first greeting, then the alternates."""
        return [g for g in [self.greeting, *self.alternate_greetings] if g.strip()]

    def greeting_text(self, index: int = 0, *, user_name: str = "User") -> str:
        """Greeting `index` (0 = the first, then the alternates), macros expanded, ready to
        speak; "" when the persona has none."""
        greetings = self.greetings
        if not greetings:
            return ""
        return expand_macros(greetings[index % len(greetings)], self.name, user_name)

    def full_system_prompt(self, recent_messages: Sequence[str] = (), *,
                           user_name: str = "User") -> str:
        """The system message: persona text in the fixed order, with the lore that the
        newest `recent_messages` (oldest first, this turn's text last) trigger. Without lore
        hits it is the same string every turn, so a model's prompt cache keeps matching."""
        return assemble_system_prompt(self, recent_messages, user_name=user_name)

    def turn_prompt_parts(self, recent_messages: Sequence[str] = (), *,
                          user_name: str = "User") -> tuple[str, str]:
        """(the system message with only the constant lore, the note of the keyed lore the
        recent messages fire): the system message stays the same string turn after turn,
        so a model's prompt cache keeps matching it and the tool list after it."""
        return (assemble_system_prompt(self, recent_messages, user_name=user_name, keyed=False),
                keyed_lore_note(self, recent_messages, user_name=user_name))


DEFAULT_PERSONA = Persona(
    name="Joe",
    system_prompt="You are Joe, a friendly and helpful voice assistant.",
    greeting="Hi, I'm Joe. What can I do for you?",
)
