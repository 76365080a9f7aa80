"""The built-in `timbre_rag(query)` tool (StepEval-Audio-Toolcall's audio search).

It finds a clip or a voice in an `AudioLibrary`. The tool only *finds*: its result says
what to do (`play_clip` or `switch_voice`) and where the audio is, and the agent does it,
because playing audio and changing voice belong to the speech side, not to tools.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from tools.builtin.audio_library import AudioLibrary
from tools.tool import Tool


class AudioSearchResult(BaseModel):
    """What `timbre_rag` returns (as JSON); the agent reads `action` and `audio_path`."""

    found: bool
    action: Literal["play_clip", "switch_voice", "none"] = "none"
    id: str | None = None
    title: str | None = None
    description: str | None = None
    audio_path: str | None = None
    alternatives: list[str] = Field(default_factory=list)  # titles of the runners-up
    message: str


def make_timbre_rag(library: AudioLibrary, *, min_score: float = 0.5) -> Tool:
    """Build `timbre_rag` over `library`; hits scoring below `min_score` count as no match."""

    def timbre_rag(
        query: Annotated[str, Field(min_length=1, description="The user's own words for the voice or sound they want.")],
    ) -> AudioSearchResult:
        """Find a voice (timbre) or an audio clip in the audio library by description, to switch to or play."""
        # `min_score` is a BM25 floor; meaning matches already passed the library's cosine floor.
        hits = [h for h in library.search(query, limit=4) if h.by == "meaning" or h.score >= min_score]
        if not hits:
            return AudioSearchResult(found=False, message=f"Nothing in the audio library matches {query!r}.")
        best = hits[0].entry
        path = library.audio_path(best)
        action = "switch_voice" if best.kind == "voice" else "play_clip"
        verb = "Switching to the voice" if best.kind == "voice" else "Playing the clip"
        return AudioSearchResult(
            found=True, action=action, id=best.id, title=best.title, description=best.description,
            audio_path=str(path) if path else None, alternatives=[h.entry.title for h in hits[1:]],
            message=f"{verb} {best.title!r}.",
        )

    return Tool(timbre_rag, timeout_s=5.0, safe_to_repeat=True, filler="Let me look in the audio library.")
