"""`StepAudioTokenizer`: 16 kHz speech -> Step-Audio dual-codebook tokens, from the real files.

A Step-Audio-Tokenizer directory holds (names as the upstream `tokenizer.py` opens them):
  * `linguistic_tokenizer.npy`: k-means centroids (1024, D) over Paraformer encoder output;
  * `speech_tokenizer_v1.onnx`: the CosyVoice semantic tokenizer (128-bin Whisper log-mel in,
    25 Hz codes out);
  * `dengcunqin/speech_paraformer-large_asr_nat-zh-cantonese-en-16k-vocab8501-online/`: the
    Paraformer streaming encoder (FunASR). Running it needs the FunASR fork vendored in a
    Step-Audio checkout: `from_dir(..., step_audio_checkout=...)` loads it from there
    (`speech.step_audio.paraformer`); any other `LinguisticEncoder` can be passed instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from speech.audio import AudioClip
from speech.errors import ModelFilesMissingError, SpeechError
from speech.protocols import Transcription
from speech.step_audio.tokens import (
    GROUP_SECONDS, LINGUISTIC_CODES, SEMANTIC_CODES, AudioTokenRangeError, StreamingInterleaver,
    interleave_codebooks, render_audio_tokens,
)

CENTROIDS_FILE = "linguistic_tokenizer.npy"
SEMANTIC_ONNX_FILE = "speech_tokenizer_v1.onnx"
PARAFORMER_DIR = ("dengcunqin/speech_paraformer-large_asr_nat-zh-cantonese-en-16k-vocab8501"
                  "-online")
SAMPLE_RATE = 16_000
SEMANTIC_CHUNK_S = 30  # the CosyVoice tokenizer takes at most 30 s at a time
_MIN_CHUNK_SAMPLES = 480  # upstream skips shorter tails: too short for one mel frame group


class TokenizerFilesMissingError(ModelFilesMissingError):
    """Files of the Step-Audio-Tokenizer directory are missing; `missing` names each one."""

    what, repository = "Step-Audio tokenizer", "stepfun-ai/Step-Audio-Tokenizer"


class TokenizerFileError(SpeechError, ValueError):
    """A tokenizer file exists but is not what Step-Audio ships (shape, inputs, outputs)."""


def missing_tokenizer_files(root: Path, *, paraformer: bool = True) -> list[str]:
    """The Step-Audio-Tokenizer files `root` lacks (a trailing / marks a folder); the
    Paraformer folder only when its encoder is to be loaded from the directory."""
    needed = [CENTROIDS_FILE, SEMANTIC_ONNX_FILE] + ([PARAFORMER_DIR + "/"] if paraformer else [])
    return [name for name in needed if not (root / name).exists()]


@runtime_checkable
class LinguisticEncoder(Protocol):
    """The Paraformer encoder: 16 kHz mono samples -> (frames, D) features at 16.7 Hz."""

    def encode(self, samples: np.ndarray) -> np.ndarray: ...


def whisper_log_mel(samples: np.ndarray, n_mels: int = 128) -> np.ndarray:
    """(n_mels, frames) log-mel exactly as `whisper.log_mel_spectrogram` computes it (25 ms
    Hann window, 10 ms hop, Slaney mel, log10 clamped to 8 below the peak), which is the input
    the CosyVoice tokenizer was trained on."""
    from transformers.audio_utils import mel_filter_bank, spectrogram, window_function

    filters = mel_filter_bank(num_frequency_bins=201, num_mel_filters=n_mels, min_frequency=0.0,
                              max_frequency=8000.0, sampling_rate=SAMPLE_RATE, norm="slaney",
                              mel_scale="slaney")
    log_spec = spectrogram(samples.astype(np.float64), window_function(400, "hann"),
                           frame_length=400, hop_length=160, power=2.0, mel_filters=filters,
                           log_mel="log10")[:, :-1]  # whisper drops the last STFT frame
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)


def nearest_centroids(features: np.ndarray, centroids: np.ndarray) -> list[int]:
    """Index of the nearest centroid (Euclidean) for each feature row: k-means quantization."""
    x = features.astype(np.float64)
    c = centroids.astype(np.float64)
    dist = (x * x).sum(1)[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :]
    return dist.argmin(axis=1).tolist()


class StepAudioTokenizer:
    """A `SpeechTokenizer` whose `Transcription.audio_tokens` holds `<audio_N>` text."""

    sample_rate = SAMPLE_RATE

    def __init__(self, centroids: np.ndarray, semantic_session: Any,
                 linguistic_encoder: LinguisticEncoder) -> None:
        if centroids.ndim != 2 or centroids.shape[0] != LINGUISTIC_CODES:
            raise TokenizerFileError(
                f"{CENTROIDS_FILE} should hold ({LINGUISTIC_CODES}, D) centroids, got shape "
                f"{centroids.shape}.")
        inputs = semantic_session.get_inputs()
        if len(inputs) != 2:
            raise TokenizerFileError(
                f"{SEMANTIC_ONNX_FILE} should take 2 inputs (log-mel, its length), takes "
                f"{[i.name for i in inputs]}.")
        self.centroids = centroids
        self.session = semantic_session
        self.encoder = linguistic_encoder
        self._feats_name, self._len_name = inputs[0].name, inputs[1].name

    @classmethod
    def from_dir(cls, directory: str | Path, *, linguistic_encoder: LinguisticEncoder | None = None,
                 step_audio_checkout: str | Path | None = None,
                 providers: list[str] | None = None) -> StepAudioTokenizer:
        """Load from a Step-Audio-Tokenizer directory; every missing file is named at once.
        The Paraformer encoder is `linguistic_encoder`, or the one in the directory run by the
        FunASR fork of `step_audio_checkout` (a clone of stepfun-ai/Step-Audio)."""
        import onnxruntime

        root = Path(directory).expanduser()
        missing = missing_tokenizer_files(root, paraformer=linguistic_encoder is None)
        if missing:
            raise TokenizerFilesMissingError(root, missing)
        if linguistic_encoder is None:
            if step_audio_checkout is None:
                raise TokenizerFileError(
                    f"Found the Paraformer model in {root / PARAFORMER_DIR}, but running it "
                    "needs the FunASR fork shipped with Step-Audio: pass step_audio_checkout= "
                    "(a clone of stepfun-ai/Step-Audio; STEPVOX_STEP_AUDIO_CHECKOUT for the "
                    "CLI), or an object with encode(samples_16k) -> (frames, D) as "
                    "linguistic_encoder=.")
            from speech.step_audio.paraformer import FunASRParaformerEncoder

            linguistic_encoder = FunASRParaformerEncoder.load(root / PARAFORMER_DIR,
                                                              step_audio_checkout)
        try:
            centroids = np.load(root / CENTROIDS_FILE)
        except (ValueError, OSError) as exc:
            raise TokenizerFileError(f"{root / CENTROIDS_FILE} is not a .npy array: {exc}") from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # upstream setting; the tokenizer is not the bottleneck
        try:
            session = onnxruntime.InferenceSession(
                str(root / SEMANTIC_ONNX_FILE), sess_options=options,
                providers=providers or ["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise TokenizerFileError(
                f"{root / SEMANTIC_ONNX_FILE} could not be loaded by onnxruntime: {exc}") from exc
        return cls(centroids, session, linguistic_encoder)

    @staticmethod
    def prepare(clip: AudioClip) -> np.ndarray:
        """16 kHz samples, peak-normalized to 0.999 as upstream `energy_norm_fn` does (quiet
        clips are not boosted more than 100x)."""
        x = clip.resampled(SAMPLE_RATE).samples
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        return (x / max(peak, 0.01) * 0.999).astype(np.float32)

    def linguistic_codes(self, samples: np.ndarray) -> list[int]:
        features = np.asarray(self.encoder.encode(samples))
        if features.size == 0:
            return []
        if features.ndim != 2 or features.shape[1] != self.centroids.shape[1]:
            raise TokenizerFileError(
                f"the linguistic encoder gave features of shape {features.shape}, but the "
                f"centroids are {self.centroids.shape[1]}-dimensional.")
        return nearest_centroids(features, self.centroids)

    def semantic_codes(self, samples: np.ndarray) -> list[int]:
        codes: list[int] = []
        step = SEMANTIC_CHUNK_S * SAMPLE_RATE
        for start in range(0, len(samples), step):
            chunk = samples[start:start + step]
            if len(chunk) < _MIN_CHUNK_SAMPLES:
                continue
            mel = whisper_log_mel(chunk)[None]
            out = self.session.run(None, {self._feats_name: mel,
                                          self._len_name: np.array([mel.shape[2]], np.int32)})
            codes += [int(c) for c in np.asarray(out[0]).ravel()]
        if any(not 0 <= c < SEMANTIC_CODES for c in codes):
            raise AudioTokenRangeError(
                f"{SEMANTIC_ONNX_FILE} produced codes outside 0..{SEMANTIC_CODES - 1}; is it "
                "the Step-Audio (CosyVoice 25 Hz) tokenizer?")
        return codes

    def tokens(self, clip: AudioClip) -> list[int]:
        samples = self.prepare(clip)
        return interleave_codebooks(self.linguistic_codes(samples), self.semantic_codes(samples))

    async def transcribe(self, clip: AudioClip) -> Transcription:
        tokens = await asyncio.to_thread(self.tokens, clip)
        return Transcription(text="", audio_tokens=render_audio_tokens(tokens))

    async def stream_tokens(self, clips: AsyncIterable[AudioClip], *,
                            segment_s: float = 1.2) -> AsyncIterator[list[int]]:
        """Tokens while speech arrives: fixed-length segments (whole 120 ms groups), both
        codebooks computed in parallel threads, merged 2:3; a partial group at the end is
        dropped. Segment edges cost a little accuracy against one-shot `tokens`."""
        groups = max(1, round(segment_s / GROUP_SECONDS))
        step = int(round(groups * GROUP_SECONDS * SAMPLE_RATE))
        merger = StreamingInterleaver()
        pending = np.zeros(0, np.float32)

        async def segment(samples: np.ndarray) -> list[int]:
            ling, sem = await asyncio.gather(asyncio.to_thread(self.linguistic_codes, samples),
                                             asyncio.to_thread(self.semantic_codes, samples))
            return merger.push(ling, sem)

        async for clip in clips:
            pending = np.concatenate([pending, clip.resampled(SAMPLE_RATE).samples])
            while len(pending) >= step:
                piece, pending = pending[:step], pending[step:]
                if tokens := await segment(piece):
                    yield tokens
        if len(pending) and (tokens := await segment(pending)):
            yield tokens
        merger.finish()
