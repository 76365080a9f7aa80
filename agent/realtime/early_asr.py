"""The ASR of a pause, started at the first quiet window instead of at the pause.

A pause is `pause_duration_ms` of quiet (64-128 ms); the speculation it starts first spends
~100 ms transcribing the words so far, and only then can the model begin. Those words are
already final at the first quiet window after speech, unless the user goes on. So the
controller starts their ASR there (`SpeechQuiet`), and the pause, when it comes, hands the
transcription under way to its speculation: the reply starts one or more VAD windows
sooner. If the user goes on instead, the result is dropped; nothing else has started (no
model call, no event), so a false start costs only the ASR's CPU while the user speaks.
"""

from __future__ import annotations

import asyncio

from agent.realtime.speculation import quiet_after
from speech.audio import AudioClip
from speech.protocols import SpeechTokenizer, Transcription


class EarlyTranscription:
    def __init__(self, tokenizer: SpeechTokenizer, clip: AudioClip) -> None:
        self.clip = clip
        self.task: asyncio.Task[Transcription] = asyncio.create_task(tokenizer.transcribe(clip))
        # A dropped run's failure is nobody's to report (a pause's own ASR reports its own).
        self.task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def covers(self, clip: AudioClip) -> bool:
        """Whether `clip` (the utterance at its pause) holds only quiet after this clip: the
        same words, so this transcription is the pause's."""
        return quiet_after(self.clip, clip)

    def drop(self) -> None:
        # The ASR thread runs to its end either way; only its result is not waited for.
        self.task.cancel()
