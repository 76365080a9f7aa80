"""What the agent does with a `timbre_rag` (audio search) hit: play the clip to the user, or
switch the conversation to the voice found."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from pydantic import ValidationError

from agent.events import AudioChunkEvent, SentenceEvent, TurnEvent
from agent.turn.context import TurnContext
from speech.audio import load_audio
from speech.errors import SpeechError
from speech.protocols import AudioChunk
from speech.style import Style
from tools import ToolResult
from tools.builtin.audio_library_files import builtin_voice_styles
from tools.builtin.timbre_rag import AudioSearchResult

log = logging.getLogger(__name__)


async def apply_audio_search(ctx: TurnContext, result: ToolResult) -> AsyncIterator[TurnEvent]:
    if result.name != "timbre_rag" or result.is_error:
        return
    try:
        hit = AudioSearchResult.model_validate_json(result.content)
    except ValidationError:
        return  # a timbre_rag of someone else's making: its text goes to the model as is
    if hit.action == "switch_voice" and hit.id:
        fields = builtin_voice_styles().get(hit.id)
        if fields is not None:
            base = ctx.services.persona.default_style
            ctx.voice_styles[ctx.conversation_id] = base.model_copy(update=Style(**fields)
                                                                    .model_dump(exclude_unset=True))
    elif hit.action == "play_clip" and hit.audio_path and ctx.synthesize:
        rate = ctx.services.decoder.sample_rate if ctx.services.decoder else None
        try:
            clip = load_audio(hit.audio_path, target_rate=rate)
        except (SpeechError, OSError) as exc:
            log.warning("audio search hit %s cannot be played: %s", hit.audio_path, exc)
            return
        index = ctx.sentences_queued
        ctx.sentences_queued += 1
        title = f"[{hit.title or hit.id}]"
        yield SentenceEvent(title, index)
        yield AudioChunkEvent(AudioChunk(clip.samples, clip.sample_rate, text=title), index)
