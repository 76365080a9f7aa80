"""Speech to text with faster-whisper (CTranslate2), loaded from a local model directory."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

from speech.audio import AudioClip
from speech.protocols import Transcription


class WhisperSpeechTokenizer:
    """ASR backend of the `SpeechTokenizer` seam: returns text, no audio tokens.

    `model` is a local CTranslate2 model directory (the packaged Whisper base or tiny.en); a
    faster-whisper size name or Hugging Face id also works where the machine has internet.
    """

    sample_rate = 16_000

    def __init__(
        self,
        model: str | Path,
        *,
        language: str | None = "en",
        beam_size: int = 1,
        cpu_threads: int | None = None,
    ) -> None:
        from faster_whisper import WhisperModel

        self.model_name = str(model)
        self.language = language
        self.beam_size = beam_size
        self._model = WhisperModel(
            str(model),
            device="cpu",
            compute_type="int8",
            cpu_threads=cpu_threads or os.cpu_count() or 2,
            local_files_only=Path(str(model)).exists(),
        )
        # CTranslate2 models are safe to share, but one decode at a time keeps latency
        # predictable on a 2-core machine instead of two turns slowing each other down.
        self._lock = threading.Lock()

    def transcribe_sync(self, clip: AudioClip) -> Transcription:
        samples = clip.resampled(self.sample_rate).samples
        with self._lock:
            segments, info = self._model.transcribe(
                samples,
                language=self.language,
                beam_size=self.beam_size,
                condition_on_previous_text=False,
                without_timestamps=True,
                vad_filter=False,
            )
            text = " ".join(s.text.strip() for s in segments).strip()
        return Transcription(text=text, language=info.language)

    async def transcribe(self, clip: AudioClip) -> Transcription:
        return await asyncio.to_thread(self.transcribe_sync, clip)
