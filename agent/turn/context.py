"""What one turn's graph run needs besides its state: the services and the live handles.

The state holds plain data (text, messages, tool results) that a checkpointer could store;
this context holds what must not be stored: models, the input audio, the open model stream
that the thinking node hands to the speaking node, and the stage clock.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.turn.waits import AnswerWaits
from agent.chat_model import ChatEvent, ChatMessage, ChatModel
from agent.settings import FILLER_AFTER_S
from agent.turn.provenance import InjectionDefence
from memory import DialogueStore
from personas import Persona
from speech.audio import AudioClip
from speech.protocols import SpeechDecoder, SpeechTokenizer, VoiceActivityDetector
from tools import ToolRegistry

if TYPE_CHECKING:
    from agent.recall.audio_archive import TurnAudioArchive
    from agent.recall.fact_recall import CallerFacts
    from agent.recall.summary_folding import SummaryFolder


@dataclass(slots=True)
class StageClock:
    """Milliseconds from the start of the turn (= the end of the user's speech) to each stage."""

    start: float = field(default_factory=time.perf_counter)
    marks: dict[str, float] = field(default_factory=dict)

    def mark(self, stage: str) -> float:
        """Record a stage once; later marks of the same stage are ignored (first wins)."""
        value = self.now_ms()
        self.marks.setdefault(stage, value)
        return value

    def now_ms(self) -> float:
        return (time.perf_counter() - self.start) * 1000

    def add(self, stage: str, ms: float) -> None:
        self.marks[stage] = self.marks.get(stage, 0.0) + ms


@dataclass(slots=True)
class TurnServices:
    """The models and stores of an agent; shared by all its turns."""

    chat_model: ChatModel
    decoder: SpeechDecoder | None
    tokenizer: SpeechTokenizer | None
    vad: VoiceActivityDetector | None
    memory: DialogueStore
    tools: ToolRegistry
    persona: Persona
    max_tool_rounds: int = 3
    history_turns: int = 20
    # Cut the reply's first chunk at a clause once it has this many words (None: sentences only).
    first_clause_words: int | None = 4
    filler_after_s: float = FILLER_AFTER_S  # see agent.settings
    # Recent tool turns' answer waits: a filler certain to be needed starts at once.
    answer_waits: AnswerWaits | None = field(default_factory=AnswerWaits)
    # Tokens for the prompt's messages (persona, facts, summary, history, this turn); None:
    # the newest `history_turns` turns and no summary.
    history_token_budget: int | None = None
    folder: SummaryFolder | None = None  # writes running summaries after turns
    facts: CallerFacts | None = None  # long-term facts per user (SQL stores only)
    audio_archive: TurnAudioArchive | None = None  # keeps turn audio as WAV files
    # Prompt-injection defences for tool output (agent.turn.provenance).
    injection_defence: InjectionDefence = field(default_factory=InjectionDefence)


@dataclass(slots=True)
class TurnContext:
    services: TurnServices
    conversation_id: str
    audio: AudioClip | None = None
    clock: StageClock = field(default_factory=StageClock)
    # The model stream the thinking node opened and the speaking node drains, with the
    # first event think already read (it had to look at it to choose the route).
    live_stream: AsyncIterator[ChatEvent] | None = None
    first_event: ChatEvent | None = None
    # Set before `think` for a question about the world: the plain prompt its text is
    # written from (agent.honesty.world_questions); None keeps the persona's.
    answer_from: list[ChatMessage] | None = None
    synthesize: bool = True
    sentences_queued: int = 0
    reply_styles: list[str] = field(default_factory=list)
    # Conversation id -> the voice chosen by audio search; owned by the VoiceAgent.
    voice_styles: dict = field(default_factory=dict)  # tag strings, in order of first use
    user_id: str | None = None  # who is calling, for their long-term facts
    # Set by perceive: what the window's budget had to leave for the persona prompt, facts
    # and this turn, so the fold after the turn sees the same window.
    fixed_tokens: int = 0
    # Set by remember when the agent keeps audio: where this turn's WAV files go, by role.
    audio_paths: dict[str, str] = field(default_factory=dict)
