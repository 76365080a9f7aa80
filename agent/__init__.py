"""The agent: the LangGraph turn graph, model backends, the Python API and the CLI.

May import tools, personas, speech and memory; none of them imports agent.
"""

from agent.chat_model import (
    ChatEvent, ChatMessage, ChatModel, ModelDone, TextDelta, ToolCall, ToolCallEvent,
    ToolCallPending, TurnEndEstimate,
)
from agent.errors import AgentError, EmptyTurnError, ModelBackendError
from agent.events import (
    AudioChunkEvent, SentenceEvent, TextDeltaEvent, ToolCallStartedEvent, ToolResultEvent,
    TranscriptEvent, TurnDoneEvent, TurnEndEstimateEvent, TurnEvent,
)
from agent.models.errors import ModelChecksumError, ModelError, ModelOverrideError, ModelUnavailableError
from agent.turn.reply import Reply
from agent.settings import StepvoxSettings
from agent.voice_agent import VoiceAgent

__version__ = "0.1.0"

__all__ = [
    "AgentError", "AudioChunkEvent", "ChatEvent", "ChatMessage", "ChatModel",
    "EmptyTurnError", "ModelBackendError", "ModelChecksumError", "ModelDone", "ModelError",
    "ModelOverrideError", "ModelUnavailableError", "Reply", "SentenceEvent", "StepvoxSettings",
    "TextDelta", "TextDeltaEvent", "ToolCall", "ToolCallEvent", "ToolCallPending",
    "ToolCallStartedEvent", "ToolResultEvent", "TranscriptEvent", "TurnDoneEvent",
    "TurnEndEstimate", "TurnEndEstimateEvent", "TurnEvent", "VoiceAgent", "__version__",
]

# Old module names (before the package redesign) still import, with a warning.
from tools.moved_modules import install as _install_moved  # noqa: E402
from agent.moved import MOVED as _MOVED  # noqa: E402

_install_moved(_MOVED)
