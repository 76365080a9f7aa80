"""Audio in and out: one validated `AudioClip` type, and `load_audio` for anything a user passes.

Every input (file path, encoded bytes, numpy samples, a clip) ends as mono float32 in [-1, 1],
or as one of the named errors in `speech.errors` with a message that says what to do.
"""

from __future__ import annotations

import codecs
import io
import math
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from speech.errors import (
    AudioInputError, AudioTooLongError, CorruptAudioError, EmptyAudioError,
    InvalidSamplesError, SampleRateError, UnsupportedAudioFormatError,
)

DEFAULT_MAX_DURATION_S = 120.0
MAX_SAMPLE_RATE = 384_000
MAX_CHANNELS = 8
# A float array peaking above this is almost surely integer PCM stored as float, not a loud clip;
# clipping it would silently turn speech into a square wave.
_FLOAT_PEAK_LIMIT = 2.0
_HEAD_BYTES = 512
_CONVERT_HINT = "Convert it to WAV, FLAC or OGG (e.g. `ffmpeg -i input output.wav`) and try again."
_TEXT_SUFFIXES = {".txt", ".json", ".md", ".csv", ".html", ".xml", ".yaml", ".yml", ".pdf"}
_UNSUPPORTED_SUFFIXES = {".mp3", ".m4a", ".aac", ".mp4", ".m4b", ".wma", ".amr", ".webm", ".mkv"}


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class AudioClip:
    """Mono float32 samples in [-1, 1] at `sample_rate` Hz; checked on construction.

    `eq=False`: element-wise array equality has no single truth value, so clips compare by identity.
    """

    samples: npt.NDArray[np.float32]
    sample_rate: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "sample_rate", _check_rate(self.sample_rate, "sample_rate"))
        x = self.samples
        if not isinstance(x, np.ndarray) or x.ndim != 1 or x.dtype != np.float32:
            got = (f"{x.dtype} array of shape {x.shape}" if isinstance(x, np.ndarray)
                   else type(x).__name__)
            raise InvalidSamplesError(
                f"AudioClip needs a 1-D float32 array, got a {got}. "
                "Use load_audio(array, sample_rate) to convert, downmix and validate it."
            )
        # NaN, inf and out-of-range samples all make `peak <= 1` false, so one check covers them.
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if not peak <= 1.0:
            raise InvalidSamplesError(
                f"AudioClip samples must be finite and within [-1, 1], got a peak of {peak}. "
                "Use load_audio(array, sample_rate), which clips and reports NaN/inf samples."
            )

    def __repr__(self) -> str:
        n = len(self.samples)
        return f"AudioClip({self.duration_s:.3f} s, {self.sample_rate} Hz, {n} samples)"

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    def resampled(self, sample_rate: int) -> AudioClip:
        """This clip at another rate (soxr, high quality); `self` when the rate is already right."""
        rate = _check_rate(sample_rate, "sample_rate")
        if rate == self.sample_rate:
            return self
        if self.samples.size == 0:
            return AudioClip(self.samples, rate)
        out = soxr.resample(self.samples, self.sample_rate, rate, quality="HQ")
        # The resampling filter rings past full scale on clipped input.
        return AudioClip(np.clip(out, -1.0, 1.0).astype(np.float32, copy=False), rate)

    def slice(self, start_s: float, end_s: float) -> AudioClip:
        """The part between two times in seconds, clamped to the clip (a view, not a copy)."""
        if math.isnan(start_s) or math.isnan(end_s) or end_s < start_s:
            raise ValueError(f"slice needs start_s <= end_s, got start_s={start_s}, end_s={end_s}")
        bounds = [min(max(t, 0.0), self.duration_s) for t in (start_s, end_s)]
        start, end = (int(round(t * self.sample_rate)) for t in bounds)
        return AudioClip(self.samples[start:end], self.sample_rate)

    def to_wav_bytes(self) -> bytes:
        """The clip as a 16-bit PCM WAV file in memory."""
        buffer = io.BytesIO()
        sf.write(buffer, self.samples, self.sample_rate, format="WAV", subtype="PCM_16")
        return buffer.getvalue()

    def rms_dbfs(self) -> float:
        """Loudness as RMS in dB relative to full scale; -inf for silence or an empty clip."""
        x = self.samples
        rms = math.sqrt(float(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0
        return 20.0 * math.log10(rms) if rms > 0.0 else -math.inf


AudioSource: TypeAlias = str | os.PathLike | bytes | bytearray | np.ndarray | AudioClip


def load_audio(source: AudioSource, sample_rate: int | None = None, *,
               target_rate: int | None = None,
               max_duration_s: float = DEFAULT_MAX_DURATION_S) -> AudioClip:
    """Load and validate audio from a path, encoded bytes, numpy samples or a clip.

    `sample_rate` is required for numpy input; for files, bytes and clips it may only repeat the
    source's own rate. The result is mono float32 in [-1, 1], resampled to `target_rate` if given.
    """
    if not max_duration_s > 0:
        raise ValueError(f"max_duration_s must be > 0, got {max_duration_s}")
    target = None if target_rate is None else _check_rate(target_rate, "target_rate")
    if isinstance(source, AudioClip):
        _check_same_rate(sample_rate, source.sample_rate, "The AudioClip")
        clip = _from_array(source.samples, source.sample_rate, "The AudioClip", max_duration_s)
    elif isinstance(source, np.ndarray):
        if sample_rate is None:
            raise SampleRateError(
                f"Got a numpy array of shape {source.shape} without a sample rate. "
                "Pass it too, e.g. load_audio(samples, 16000)."
            )
        rate = _check_rate(sample_rate, "sample_rate")
        clip = _from_array(source, rate, f"The numpy array of shape {source.shape}", max_duration_s)
    elif isinstance(source, (bytes, bytearray)):
        label = f"The audio data ({len(source)} bytes)"
        if not source:
            raise EmptyAudioError("Got 0 bytes of audio data. Record or send some audio.")
        data = bytes(source)
        clip = _decode(io.BytesIO(data), label, data[:_HEAD_BYTES], "", sample_rate, max_duration_s)
    elif isinstance(source, (str, os.PathLike)):
        clip = _load_path(source, sample_rate, max_duration_s)
    else:
        raise UnsupportedAudioFormatError(
            f"load_audio got a {type(source).__name__}, which is not audio. Pass a file path, "
            "bytes of a WAV/FLAC/OGG file, a numpy array with its sample rate, or an AudioClip."
        )
    return clip if target is None else clip.resampled(target)


def write_wav(path: str | os.PathLike, clip: AudioClip) -> Path:
    """Write `clip` as 16-bit PCM WAV, creating parent folders; returns the path written."""
    out = Path(os.fsdecode(path))
    out.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(out), clip.samples, clip.sample_rate, format="WAV", subtype="PCM_16")
    return out


def concatenate(clips: Sequence[AudioClip]) -> AudioClip:
    """Join clips end to end; all must share one sample rate."""
    clips = list(clips)
    if not clips:
        raise EmptyAudioError("concatenate got no clips. Pass at least one AudioClip.")
    for clip in clips:
        if not isinstance(clip, AudioClip):
            raise TypeError(f"concatenate takes AudioClip objects, got a {type(clip).__name__}")
    rates = sorted({clip.sample_rate for clip in clips})
    if len(rates) > 1:
        raise SampleRateError(
            f"concatenate got clips at different sample rates {rates} Hz. "
            "Call clip.resampled(rate) on them first so they share one rate."
        )
    return AudioClip(np.concatenate([clip.samples for clip in clips]), rates[0])


def _check_rate(value: Any, name: str) -> int:
    """A sample rate as an int, or SampleRateError saying what was wrong with it."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SampleRateError(
            f"{name} must be a whole number of Hz, got {value!r} ({type(value).__name__}). "
            "Pass e.g. 16000."
        )
    if not 0 < value <= MAX_SAMPLE_RATE:
        raise SampleRateError(
            f"{name} must be between 1 and {MAX_SAMPLE_RATE} Hz, got {value}. "
            "Pass the rate the audio was recorded at, e.g. 16000 or 48000."
        )
    return int(value)


def _check_same_rate(given: int | None, actual: int, label: str) -> None:
    if given is not None and _check_rate(given, "sample_rate") != actual:
        raise SampleRateError(
            f"{label} is at {actual} Hz, but sample_rate={given} was given. Leave sample_rate out "
            "for files, bytes and clips (their own rate is used), or pass target_rate to resample."
        )


def _check_duration(frames: int, rate: int, label: str, max_duration_s: float) -> None:
    duration = frames / rate
    if duration > max_duration_s:
        raise AudioTooLongError(
            f"{label} lasts {duration:.1f} s, longer than the {max_duration_s:g} s allowed. "
            "Trim or split it, or pass a larger max_duration_s."
        )


def _from_array(x: np.ndarray, rate: int, label: str, max_duration_s: float) -> AudioClip:
    """Validate raw samples and turn them into a clip; the cheap checks come first."""
    kind = x.dtype.kind
    if kind == "f":
        scale = 1.0
    elif x.dtype in (np.int16, np.int32):
        scale = 1.0 / -float(np.iinfo(x.dtype).min)  # full-scale PCM maps to [-1, 1)
    else:
        raise InvalidSamplesError(
            f"{label} has dtype {x.dtype}, which is not audio. "
            "Pass float32/float64 samples in [-1, 1] or int16/int32 PCM."
        )
    if x.ndim == 1:
        x = x[:, np.newaxis]
    elif x.ndim == 2:
        if x.shape[1] > x.shape[0]:  # (channels, frames): channels is the small axis
            x = x.T
        if x.size and x.shape[1] > MAX_CHANNELS:
            raise InvalidSamplesError(
                f"{label} has no axis of at most {MAX_CHANNELS} channels. "
                "Pass shape (n,), (n, channels) or (channels, n)."
            )
    else:
        raise InvalidSamplesError(
            f"{label} has {x.ndim} dimensions. Pass shape (n,), (n, channels) or (channels, n)."
        )
    if x.size == 0:
        raise EmptyAudioError(f"{label} holds 0 samples. Record or send some audio and try again.")
    _check_duration(x.shape[0], rate, label, max_duration_s)
    if kind == "f":
        _check_finite(x, label)
        peak = float(np.max(np.abs(x)))
        if peak > _FLOAT_PEAK_LIMIT:
            raise InvalidSamplesError(
                f"{label} peaks at {peak:g}, but float samples must lie in [-1, 1]. If these are "
                "int16 PCM values stored as floats, divide by 32768 (or pass the int16 array)."
            )
    return _to_clip(x, rate, scale)


def _check_finite(x: np.ndarray, label: str) -> None:
    bad = x.size - int(np.count_nonzero(np.isfinite(x)))
    if bad:
        nans = int(np.count_nonzero(np.isnan(x)))
        raise InvalidSamplesError(
            f"{label} has {bad} of {x.size} samples that are not finite ({nans} NaN, "
            f"{bad - nans} infinite). Fix the code that produced them, or replace them "
            "with np.nan_to_num(samples) before loading."
        )


def _to_clip(frames: np.ndarray, rate: int, scale: float = 1.0) -> AudioClip:
    """(frames, channels) samples -> mono float32 clip, downmixed by mean and clipped."""
    if frames.shape[1] == 1:
        mono = np.multiply(frames[:, 0], scale, dtype=np.float32)
    else:
        mono = np.mean(frames, axis=1, dtype=np.float64)
        mono = np.multiply(mono, scale, dtype=np.float32)
    # Float sources may overshoot full scale a little; clipping also makes the result our own copy.
    return AudioClip(np.clip(mono, -1.0, 1.0), rate)


def _load_path(source: str | os.PathLike, sample_rate: int | None,
               max_duration_s: float) -> AudioClip:
    raw = os.fsdecode(source)
    path = Path(raw)
    if not raw or not path.is_file():
        problem = ("is empty" if not raw else "is not a file" if path.exists()
                   else f"does not exist (looked for {path.absolute()})")
        raise AudioInputError(f"Audio path {raw!r} {problem}. Pass the path of an audio file.")
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError as exc:
        raise AudioInputError(f"Cannot read audio file '{path}': {exc.strerror or exc}.") from exc
    if size == 0:
        raise EmptyAudioError(f"Audio file '{path}' is empty (0 bytes). Record or export it again.")
    label = f"Audio file '{path}' ({size} bytes)"
    return _decode(str(path), label, head, path.suffix.lower(), sample_rate, max_duration_s)


def _decode(handle: str | io.BytesIO, label: str, head: bytes, suffix: str,
            sample_rate: int | None, max_duration_s: float) -> AudioClip:
    """Decode with libsndfile, checking rate and length from the header before reading samples."""
    try:
        audio = sf.SoundFile(handle)
    except (sf.SoundFileError, RuntimeError) as exc:
        raise _undecodable(label, head, suffix, exc) from exc
    with audio:
        rate, container = audio.samplerate, audio.format
        _check_same_rate(sample_rate, rate, label)
        _check_duration(audio.frames, rate, label, max_duration_s)
        try:
            frames = audio.read(dtype="float32", always_2d=True)
        except (sf.SoundFileError, RuntimeError) as exc:
            raise CorruptAudioError(
                f"{label} ({container}) broke off while decoding: {_reason(exc)}. "
                "It is probably truncated or damaged; export or record it again."
            ) from exc
    if frames.size == 0:
        raise EmptyAudioError(
            f"{label} has a valid {container} header but no samples (it may be truncated). "
            "Export or record it again."
        )
    _check_duration(frames.shape[0], rate, label, max_duration_s)  # header lengths can be estimates
    _check_finite(frames, label)
    return _to_clip(frames, rate)


def _undecodable(label: str, head: bytes, suffix: str, exc: Exception) -> AudioInputError:
    """Tell a format we knowingly do not read from a file that is simply broken."""
    kind = _unsupported_kind(head, suffix)
    if kind is not None:
        return UnsupportedAudioFormatError(
            f"{label} looks like {kind}, which cannot be read here. {_CONVERT_HINT}"
        )
    return CorruptAudioError(
        f"{label} could not be decoded as audio ({_reason(exc)}). It may be truncated or not audio "
        "at all; export it again as WAV, FLAC or OGG."
    )


def _unsupported_kind(head: bytes, suffix: str) -> str | None:
    if head.startswith(b"ID3"):
        return "MP3 (it starts with an ID3 tag)"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "MPEG audio such as MP3 or AAC"
    if head[4:8] == b"ftyp":
        return "MP4/M4A"
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "WebM/Matroska"
    if suffix in _UNSUPPORTED_SUFFIXES:
        return f"a {suffix} file"
    if suffix in _TEXT_SUFFIXES or _looks_like_text(head):
        return "text, not audio"
    return None


def _looks_like_text(head: bytes) -> bool:
    try:
        # Incremental decoding tolerates a multi-byte character cut at the end of `head`.
        text = codecs.getincrementaldecoder("utf-8")().decode(head)
    except UnicodeDecodeError:
        return False
    return bool(text) and all(c.isprintable() or c.isspace() for c in text)


def _reason(exc: Exception) -> str:
    # libsndfile's own words, without soundfile's "Error opening <_io.BytesIO at 0x...>:" prefix.
    return str(getattr(exc, "error_string", None) or exc).strip().rstrip(".")
