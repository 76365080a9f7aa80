"""The ASR of a pause, started at the first silent window instead of at the pause.

A pause is `pause_duration_ms` of quiet (64-128 ms); the speculation it starts first spends
~100 ms transcribing the words so far, and only then can the model begin. Those words are
already final at the first silent window after speech, unless the user goes on. So the
controller starts their ASR there (`SpeechQuiet`), and the pause, when it comes, hands the
transcription under way to its speculation: the reply starts one or more VAD windows
sooner. The pause's own clip may hold a little more audio; the early transcript stands for
it only when all of that is silent too (a final consonant after a window the VAD found
quiet would otherwise be lost: "ask not" heard as "as not"), else the pause transcribes its
clip as it would have. If the user goes on instead, the run is dropped; nothing else has
started (no model call, no event), so a false start costs only ASR CPU while the user
speaks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from agent.realtime.turn_taking.speculation import quiet_after
from speech.audio import AudioClip
from speech.protocols import SpeechTokenizer, Transcription


class EarlyTranscription:
    def __init__(self, tokenizer: SpeechTokenizer, clip: AudioClip) -> None:
        self.clip = clip
        self.task: asyncio.Task[Transcription] = asyncio.create_task(tokenizer.transcribe(clip))
        # A dropped run's failure is nobody's to report (a pause's own ASR reports its own).
        self.task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def covers(self, clip: AudioClip, silent: Callable[[np.ndarray], bool]) -> bool:
        """Whether `clip` (the utterance at its pause) is this clip plus only audio that
        `silent` (the segmenter's `silent`) accepts: the same audio as far as the ASR is
        concerned, so this transcription is the pause's."""
        return quiet_after(self.clip, clip) and silent(clip.samples[len(self.clip.samples):])

    def drop(self) -> None:
        # Cancelling the task tells an ASR that can stop (WhisperSpeechTokenizer) to skip
        # the run if it is still queued, or to end it after the encoder.
        self.task.cancel()
