"""Events a turn streams out of `VoiceAgent.stream`, in the order they happen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.chat_model import ToolCall
from speech.protocols import AudioChunk

if TYPE_CHECKING:
    from agent.turn.reply import Reply
    from tools import ToolResult


@dataclass(slots=True)
class TranscriptEvent:
    """What the user said (from ASR, or the text given)."""

    text: str


@dataclass(slots=True)
class TextDeltaEvent:
    """Reply text as the speaking node receives it."""

    text: str


@dataclass(slots=True)
class TurnEndEstimateEvent:
    """The model's estimate that the user had finished (see `chat_model.TurnEndEstimate`)."""

    probability: float


@dataclass(slots=True)
class SentenceEvent:
    """A whole sentence handed to the speech decoder."""

    text: str
    index: int


@dataclass(slots=True)
class ToolCallStartedEvent:
    call: ToolCall


@dataclass(slots=True)
class ToolResultEvent:
    result: "ToolResult"


@dataclass(slots=True)
class AudioChunkEvent:
    chunk: AudioChunk
    sentence_index: int


@dataclass(slots=True)
class ApprovalRequestEvent:
    """A tool with side effects waits for the user's yes or no; the next turn answers it."""

    question: str
    tool: str
    arguments: dict


@dataclass(slots=True)
class TurnDoneEvent:
    reply: "Reply"


TurnEvent = (
    TranscriptEvent | TurnEndEstimateEvent | TextDeltaEvent | SentenceEvent
    | ToolCallStartedEvent | ToolResultEvent | AudioChunkEvent | ApprovalRequestEvent
    | TurnDoneEvent
)
