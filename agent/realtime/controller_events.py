"""What the realtime controller reports: its states and the events it emits.

The server maps these to protocol JSON (`event_mapping.py`); other transports (a phone
bridge, a test) can consume them directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from agent.events import TurnEvent
from agent.realtime.audio_input import SegmentEvent


class ConversationState(StrEnum):
    SILENCE = "silence"
    USER_SPEAKING = "user_speaking"
    USER_PAUSED = "user_paused"
    BOT_REPLYING = "bot_replying"


@dataclass(frozen=True, slots=True)
class StateChanged:
    previous: ConversationState
    state: ConversationState
    reason: str


@dataclass(frozen=True, slots=True)
class ReplyStarted:
    response_id: str
    source: Literal["audio", "text"]


@dataclass(frozen=True, slots=True)
class ReplyEvent:
    response_id: str
    event: TurnEvent


@dataclass(frozen=True, slots=True)
class ReplyFinished:
    response_id: str
    status: Literal["completed", "cancelled", "failed"]
    transcript: str = ""
    text: str = ""
    played_text: str = ""
    played_s: float = 0.0
    audio_s: float = 0.0
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: str = ""
    speculation: Literal["none", "committed", "rerun"] = "none"
    # Milliseconds from the end of the user's speech (see `stats.STAGES`); a text turn
    # counts from its request.
    stages_ms: dict[str, float] = field(default_factory=dict)
    speculation_saved_ms: float | None = None  # estimate; committed speculations only


@dataclass(frozen=True, slots=True)
class ReplyTruncated:
    """Barge-in after the reply was fully generated, while its audio was still playing, or
    the client's `conversation.item.truncate` (by_client): history keeps `played_text`."""

    response_id: str
    played_text: str
    played_s: float
    by_client: bool = False
    content_index: int = 0


@dataclass(frozen=True, slots=True)
class SpeculationEvent:
    """A speculative reply started on a pause, or ended committed or discarded."""

    outcome: Literal["started", "committed", "discarded"]
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TurnEndPredicted:
    """`semantic_vad`: the model's estimate that the user had finished, and the end-of-turn
    silence it set for this utterance."""

    probability: float
    verdict: Literal["finished", "unfinished", "unsure"]
    end_of_turn_ms: int


@dataclass(frozen=True, slots=True)
class BackchannelIgnored:
    speech_s: float


ControllerEvent = (StateChanged | ReplyStarted | ReplyEvent | ReplyFinished | ReplyTruncated
                   | BackchannelIgnored | SpeculationEvent | TurnEndPredicted | SegmentEvent)
Emit = Callable[[ControllerEvent], Awaitable[None]]
