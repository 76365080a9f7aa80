"""Speech to text with faster-whisper (CTranslate2), loaded from a local model directory."""

from __future__ import annotations

import asyncio
import math
import os
import threading
from pathlib import Path

import numpy as np

from speech.audio import AudioClip
from speech.protocols import Transcription
from speech.repetition import repeats_itself

# Whisper was trained on 30 s windows, and faster-whisper pads every clip to one, so a 2 s
# question costs as much encoder time as 30 s of speech. CTranslate2 accepts a shorter
# window; below ~8 s the model no longer knows where to stop and repeats itself, but a 10 s
# window (2 s of padding at least) transcribes short turns at a third of the cost for a small
# loss of accuracy (bench/whisper_window.py). Longer clips take the standard path.
SHORT_WINDOW_S = 10.0
_MIN_PADDING_S = 2.0
# A greedy transcript that compresses this well is a repetition loop: redo it the standard way.
_MAX_COMPRESSION = 2.4
# Text Whisper is told came just before the clip, per language. Whisper base writes Mandarin
# in traditional characters as often as in simplified; a simplified-Chinese sentence before
# the clip makes it write simplified, which is what the persona, the model and the Mandarin
# voice work in (measured on 13 clips: simplified output, about the same character error
# rate). English needs none: its decode prompt stays as it was.
INITIAL_PROMPTS = {"zh": "以下是普通话的句子。"}


def initial_prompt_for(language: str | None) -> str | None:
    """The initial prompt Whisper gets when listening for `language` (None: no prompt)."""
    return INITIAL_PROMPTS.get((language or "")[:2])


class WhisperSpeechTokenizer:
    """ASR backend of the `SpeechTokenizer` seam: returns text, no audio tokens.

    `model` is a local CTranslate2 model directory (the packaged Whisper base or tiny.en); a
    faster-whisper size name or Hugging Face id also works where the machine has internet.
    `window_s` is the shortest encoder window for short clips (None: always 30 s).
    """

    sample_rate = 16_000

    def __init__(
        self,
        model: str | Path,
        *,
        language: str | None = "en",
        beam_size: int = 1,
        cpu_threads: int | None = None,
        window_s: float | None = SHORT_WINDOW_S,
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
        multilingual = self._model.model.is_multilingual
        # The short path needs to know the language up front (no detection pass).
        self.window_s = window_s if (language or not multilingual) else None
        self.runs = 0  # clips transcribed (benchmarks count the ASR passes of a turn)
        self.short_path_runs = 0  # how many clips took the short window (tests, stats)
        self._decode_setup: tuple | None = None  # tokenizer, prompt, suppressed ids: built once
        # CTranslate2 models are safe to share, but one decode at a time keeps latency
        # predictable on a 2-core machine instead of two turns slowing each other down.
        self._lock = threading.Lock()

    def transcribe_sync(self, clip: AudioClip,
                        cancelled: threading.Event | None = None) -> Transcription:
        """`cancelled`: set when nobody waits for the result any more (a speculation the
        user talked through): a run still queued for the model is skipped, and one under
        way stops after the encoder. The text is then empty."""
        samples = clip.resampled(self.sample_rate).samples
        with self._lock:
            if cancelled is not None and cancelled.is_set():
                return Transcription(text="", language=self.language or "en")
            self.runs += 1
            text = self._short_window(samples, cancelled)
            if text is not None:
                return Transcription(text=text, language=self.language or "en")
            segments, info = self._model.transcribe(
                samples,
                language=self.language,
                initial_prompt=initial_prompt_for(self.language),
                beam_size=self.beam_size,
                condition_on_previous_text=False,
                without_timestamps=True,
                vad_filter=False,
            )
            text = " ".join(s.text.strip() for s in segments).strip()
        return Transcription(text=text, language=info.language)

    def _short_setup(self) -> tuple:
        """What every short-window decode shares: the tokenizer, the start-of-transcript
        prompt and the suppressed token ids (faster-whisper's defaults)."""
        if self._decode_setup is None:
            from faster_whisper.tokenizer import Tokenizer
            from faster_whisper.transcribe import get_suppressed_tokens

            fm = self._model
            tokenizer = Tokenizer(fm.hf_tokenizer, fm.model.is_multilingual, task="transcribe",
                                  language=self.language or "en")
            # The initial prompt goes where faster-whisper puts it: after <|startofprev|>,
            # with a leading space, before the start-of-transcript tokens.
            initial = initial_prompt_for(self.language) if fm.model.is_multilingual else None
            before = ([tokenizer.sot_prev, *tokenizer.encode(" " + initial)] if initial
                      else [])
            self._decode_setup = (tokenizer,
                                  [*before, *tokenizer.sot_sequence, tokenizer.no_timestamps],
                                  get_suppressed_tokens(tokenizer, [-1]))
        return self._decode_setup

    def _short_window(self, samples: np.ndarray,
                      cancelled: threading.Event | None = None) -> str | None:
        """One greedy pass over a window just long enough for the clip; None when the clip
        is too long for it or the result looks like a repetition loop."""
        import ctranslate2
        from faster_whisper.transcribe import get_compression_ratio

        if self.window_s is None:
            return None
        duration = len(samples) / self.sample_rate
        window = max(self.window_s, math.ceil(duration + _MIN_PADDING_S))
        if window >= 30:
            return None
        fm = self._model
        padded = np.zeros(int(window * self.sample_rate), dtype=np.float32)
        padded[:len(samples)] = samples
        frames = int(window * self.sample_rate) // fm.feature_extractor.hop_length
        features = fm.feature_extractor(padded)[:, :frames]
        tokenizer, prompt, suppressed = self._short_setup()
        # ~3 words a second of speech at most, ~1.5 tokens a word, plus room: a transcript
        # that runs into this cap is a loop, not speech.
        max_length = len(prompt) + int(16 + 8 * duration)
        # Encoder and decoder as two calls (~45 and ~35 ms for tiny.en on two cores), so a
        # run nobody waits for any more stops in between.
        encoded = fm.model.encode(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])),
            to_cpu=False)
        if cancelled is not None and cancelled.is_set():
            return ""
        result = fm.model.generate(
            encoded, [prompt], beam_size=self.beam_size, max_length=max_length,
            suppress_blank=True, suppress_tokens=suppressed,
        )
        ids = result[0].sequences_ids[0]
        text = tokenizer.decode(ids).strip()
        if len(prompt) + len(ids) >= max_length - 1 or (
                text and (get_compression_ratio(text) > _MAX_COMPRESSION
                          or repeats_itself(text))):
            return None
        self.short_path_runs += 1
        return text

    async def transcribe(self, clip: AudioClip) -> Transcription:
        cancelled = threading.Event()
        try:
            return await asyncio.to_thread(self.transcribe_sync, clip, cancelled)
        except asyncio.CancelledError:
            cancelled.set()  # the thread goes on, but skips or cuts short its work
            raise
