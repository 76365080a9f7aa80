"""What a finished turn returns."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools import ToolResult


class Reply(BaseModel):
    """The agent's answer to one user turn.

    `timings_ms` holds milliseconds from the start of the turn (the end of the user's speech)
    to each stage: vad_end, asr, llm_tool_call (a tool call was generated), llm_first_token
    (first token of spoken text), first_sentence, tts_first_audio, done. Stages that did not
    happen in the turn are absent.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    conversation_id: str
    transcript: str
    text: str
    audio: np.ndarray = Field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    sample_rate: int = 0
    tool_results: list[ToolResult] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)

    @property
    def audio_duration_s(self) -> float:
        return len(self.audio) / self.sample_rate if self.sample_rate else 0.0

    @property
    def tool_names(self) -> list[str]:
        return [r.name for r in self.tool_results]
