"""`speech.audio`: real files through soundfile, numpy input, resampling, and every bad input."""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from speech.audio import AudioClip, concatenate, load_audio, write_wav
from speech.errors import (
    AudioInputError, AudioTooLongError, CorruptAudioError, EmptyAudioError, InvalidSamplesError,
    SampleRateError, SilentAudioError, SpeechError, UnsupportedAudioFormatError,
)

PCM16_STEP = 1.0 / 32768


def sine(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def wav_bytes(samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def peak_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


# --- good input -------------------------------------------------------------------------------


def test_stereo_44k_pcm16_wav_is_downmixed_to_mono(tmp_path: Path) -> None:
    left, right = sine(440, 44100, 1.0, 0.6), sine(880, 44100, 1.0, 0.2)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 44100, subtype="PCM_16")
    clip = load_audio(path)
    assert clip.sample_rate == 44100
    assert clip.samples.dtype == np.float32 and clip.samples.ndim == 1
    assert clip.duration_s == pytest.approx(1.0)
    np.testing.assert_allclose(clip.samples, (left + right) / 2, atol=2 * PCM16_STEP)


@pytest.mark.parametrize(
    ("name", "subtype", "rate"),
    [("mono8k_int16.wav", "PCM_16", 8000), ("mono8k_float.wav", "FLOAT", 8000),
     ("mono8k.flac", "PCM_16", 8000), ("mono16k_24bit.flac", "PCM_24", 16000)],
)
def test_mono_files_load_with_their_rate_and_values(
    tmp_path: Path, name: str, subtype: str, rate: int
) -> None:
    original = sine(300, rate, 0.5, 0.7)
    path = tmp_path / name
    sf.write(path, original, rate, subtype=subtype)
    clip = load_audio(str(path))
    assert clip.sample_rate == rate
    assert len(clip.samples) == len(original)
    assert clip.duration_s == pytest.approx(0.5)
    np.testing.assert_allclose(clip.samples, original, atol=PCM16_STEP)


def test_float_file_slightly_over_full_scale_is_clipped(tmp_path: Path) -> None:
    path = tmp_path / "hot.wav"
    sf.write(path, np.array([0.5, 1.2, -1.3, 0.0], np.float32), 8000, subtype="FLOAT")
    clip = load_audio(path)
    np.testing.assert_array_equal(clip.samples, np.array([0.5, 1.0, -1.0, 0.0], np.float32))


def test_resampling_44k_to_16k_keeps_a_440_hz_sine_at_440_hz(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    sf.write(path, sine(440, 44100, 1.0), 44100, subtype="PCM_16")
    clip = load_audio(path, target_rate=16000)
    assert clip.sample_rate == 16000
    assert len(clip.samples) == 16000
    assert peak_frequency(clip.samples, 16000) == pytest.approx(440, abs=2)
    assert float(np.max(np.abs(clip.samples))) == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize(
    ("pcm", "expected"),
    [(np.array([0, 16384, -32768, 32767], np.int16), [0.0, 0.5, -1.0, 32767 / 32768]),
     (np.array([0, 2**30, -(2**31)], np.int32), [0.0, 0.5, -1.0])],
    ids=["int16", "int32"],
)
def test_numpy_integer_pcm_is_scaled_to_unit_range(pcm: np.ndarray, expected: list[float]) -> None:
    clip = load_audio(pcm, 8000)
    assert clip.samples.dtype == np.float32
    np.testing.assert_allclose(clip.samples, expected)


def test_numpy_float64_becomes_float32_and_is_not_shared_with_the_caller() -> None:
    samples = np.linspace(-0.5, 0.5, 100)
    clip = load_audio(samples, 16000)
    samples[:] = 0.0
    assert clip.samples.dtype == np.float32
    assert clip.samples[0] == pytest.approx(-0.5)


def test_channels_first_and_channels_last_are_both_downmixed() -> None:
    left, right = sine(200, 16000, 0.25, 0.8), sine(500, 16000, 0.25, 0.4)
    expected = (left + right) / 2
    frames_first = load_audio(np.stack([left, right], axis=1), 16000)  # shape (n, 2)
    channels_first = load_audio(np.stack([left, right], axis=0), 16000)  # shape (2, n)
    assert frames_first.duration_s == channels_first.duration_s == pytest.approx(0.25)
    np.testing.assert_allclose(frames_first.samples, expected, atol=1e-6)
    np.testing.assert_allclose(channels_first.samples, expected, atol=1e-6)


def test_bytes_and_bytearray_decode_from_memory_and_may_repeat_their_rate() -> None:
    data = wav_bytes(sine(440, 16000, 0.2), 16000)
    assert load_audio(data).duration_s == pytest.approx(0.2)
    assert load_audio(bytearray(data)).duration_s == pytest.approx(0.2)
    assert load_audio(data, 16000).sample_rate == 16000


def test_audio_clip_passes_through_and_can_be_resampled() -> None:
    clip = AudioClip(sine(440, 48000, 0.5), 48000)
    same = load_audio(clip)
    down = load_audio(clip, target_rate=16000)
    np.testing.assert_array_equal(same.samples, clip.samples)
    assert down.sample_rate == 16000 and len(down.samples) == 8000
    assert clip.resampled(48000) is clip


def test_a_wav_cut_in_half_decodes_the_part_that_is_there() -> None:
    """A WAV whose header promises more data than present: libsndfile reads what is there."""
    original = sine(440, 16000, 1.0)
    data = wav_bytes(original, 16000)
    clip = load_audio(data[: len(data) // 2])
    assert 0 < len(clip.samples) < len(original)
    np.testing.assert_allclose(clip.samples, original[: len(clip.samples)], atol=PCM16_STEP)


# --- bad input --------------------------------------------------------------------------------


def test_every_named_error_is_an_audio_input_error_and_a_value_error() -> None:
    for error in (EmptyAudioError, CorruptAudioError, UnsupportedAudioFormatError,
                  AudioTooLongError, InvalidSamplesError, SampleRateError, SilentAudioError):
        assert issubclass(error, AudioInputError)
        assert issubclass(error, SpeechError) and issubclass(error, ValueError)


_WAV = wav_bytes(sine(440, 16000, 0.5), 16000)


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", EmptyAudioError, "0 bytes"),
        (b"\x00" + np.random.default_rng(7).bytes(3999), CorruptAudioError, "4000 bytes"),
        (_WAV[:30], CorruptAudioError, "30 bytes"),
        (_WAV[:44], EmptyAudioError, "no samples"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(300), UnsupportedAudioFormatError, "MP3"),
        (b"just some words, not audio\n" * 4, UnsupportedAudioFormatError, "text"),
    ],
    ids=["empty-bytes", "4000-random-bytes", "wav-cut-after-30-bytes",
         "wav-header-only-44-bytes", "id3-tag-then-zeros", "utf8-text"],
)
def test_bad_bytes_raise_named_errors(data: bytes, error: type[Exception], message: str) -> None:
    """Inputs tried are in the ids: each must give its named error, with the byte count or kind."""
    with pytest.raises(error, match=message):
        load_audio(data)


def _cut_flac(path: Path) -> None:
    buffer = io.BytesIO()
    sf.write(buffer, sine(440, 16000, 1.0), 16000, format="FLAC")
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])


@pytest.mark.parametrize(
    ("name", "write", "error"),
    [
        ("silence.wav", lambda p: p.touch(), EmptyAudioError),
        ("cut.flac", _cut_flac, CorruptAudioError),
        ("song.mp3", lambda p: p.write_bytes(b"\xff\xfb\x90\x00" * 50),
         UnsupportedAudioFormatError),
        ("notes.txt", lambda p: p.write_text("not audio, just notes\n" * 5),
         UnsupportedAudioFormatError),
        ("nowhere.wav", lambda p: None, AudioInputError),
    ],
    ids=["0-byte-file", "flac-second-half-cut-off", "mp3-sync-words-no-frames", "text-file",
         "missing-file"],
)
def test_bad_files_raise_named_errors_naming_the_file(
    tmp_path: Path, name: str, write: Callable[[Path], object], error: type[Exception]
) -> None:
    """Inputs tried are in the ids; the message must name the file so the user can find it."""
    path = tmp_path / name
    write(path)
    with pytest.raises(error, match=name.replace(".", r"\.")):
        load_audio(path)


def test_wrong_python_types_and_directories_are_refused(tmp_path: Path) -> None:
    """Inputs tried: a Python list of floats, None, and a directory path."""
    with pytest.raises(UnsupportedAudioFormatError, match="list"):
        load_audio([0.0, 0.1, 0.2], 16000)  # type: ignore[arg-type]
    with pytest.raises(UnsupportedAudioFormatError, match="NoneType"):
        load_audio(None)  # type: ignore[arg-type]
    with pytest.raises(AudioInputError, match="not a file"):
        load_audio(tmp_path)


def test_zero_sample_numpy_raises_empty_audio_error() -> None:
    """Inputs tried: np.zeros(0, float32) and a (0, 2) stereo array, both at 16 kHz."""
    with pytest.raises(EmptyAudioError, match="0 samples"):
        load_audio(np.zeros(0, np.float32), 16000)
    with pytest.raises(EmptyAudioError):
        load_audio(np.zeros((0, 2), np.float32), 16000)


@pytest.mark.parametrize(
    ("bad", "count"),
    [(np.nan, "2 of 5"), (np.inf, "2 of 5"), (-np.inf, "2 of 5")],
    ids=["nan", "inf", "minus-inf"],
)
def test_non_finite_samples_raise_invalid_samples_with_a_count(bad: float, count: str) -> None:
    """Input tried: 5 float32 samples of which 2 are NaN / inf / -inf."""
    samples = np.array([0.0, bad, 0.1, bad, 0.2], np.float32)
    with pytest.raises(InvalidSamplesError, match=count):
        load_audio(samples, 16000)


def test_nan_in_a_float_wav_file_raises_invalid_samples(tmp_path: Path) -> None:
    """Input tried: a FLOAT WAV file holding one NaN sample."""
    path = tmp_path / "nan.wav"
    sf.write(path, np.array([0.0, np.nan, 0.5], np.float32), 8000, subtype="FLOAT")
    with pytest.raises(InvalidSamplesError, match="1 NaN"):
        load_audio(path)


@pytest.mark.parametrize(
    "samples",
    [np.zeros(10, np.complex64), np.zeros((2, 3, 100), np.float32), np.zeros(10, bool),
     np.array([0.1, 0.2], dtype=object), np.zeros(10, np.int64), np.float32(0.5),
     np.zeros((20, 30), np.float32), np.full(10, 20000.0)],
    ids=["complex", "3-D", "bool", "object", "int64", "0-D", "no-small-axis", "int-range-floats"],
)
def test_arrays_that_are_not_audio_raise_invalid_samples(samples: np.ndarray) -> None:
    """Inputs tried: complex, 3-D, bool, object, int64, 0-D, a 20x30 block, floats up to 20000."""
    with pytest.raises(InvalidSamplesError):
        load_audio(np.asarray(samples), 16000)


@pytest.mark.parametrize("rate", [None, -16000, 0, 1_000_000, 16000.5, "16000", True])
def test_missing_or_bad_sample_rates_raise_sample_rate_error(rate: object) -> None:
    """Inputs tried: no rate with a float32 array; a negative/zero/huge/fractional/str/bool rate."""
    with pytest.raises(SampleRateError, match="without a sample rate" if rate is None else "Hz"):
        load_audio(np.zeros(100, np.float32), rate)  # type: ignore[arg-type]
    # A bad target_rate is refused before any decoding is tried.
    if rate is not None:
        with pytest.raises(SampleRateError, match="target_rate"):
            load_audio(b"garbage", target_rate=rate)  # type: ignore[arg-type]


def test_ten_minutes_of_numpy_is_rejected_before_any_resampling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Input tried: 600 s of 16 kHz float32 with target_rate=8000 (limit 120 s)."""
    def no_resampling(*args: object, **kwargs: object) -> np.ndarray:
        raise AssertionError("resampled audio that should have been rejected first")
    monkeypatch.setattr(soxr, "resample", no_resampling)
    ten_minutes = np.zeros(600 * 16000, np.float32)
    started = time.perf_counter()
    with pytest.raises(AudioTooLongError, match=r"600\.0 s.*120 s"):
        load_audio(ten_minutes, 16000, target_rate=8000)
    assert time.perf_counter() - started < 1.0


def test_file_too_long_or_at_another_rate_than_said_is_refused(tmp_path: Path) -> None:
    """Inputs tried: a 3 s 16 kHz WAV with max_duration_s=2, and with sample_rate=8000."""
    path = tmp_path / "long16k.wav"
    sf.write(path, sine(440, 16000, 3.0), 16000)
    with pytest.raises(AudioTooLongError, match=r"long16k\.wav.*3\.0 s"):
        load_audio(path, max_duration_s=2)
    with pytest.raises(SampleRateError, match="16000 Hz.*sample_rate=8000"):
        load_audio(path, 8000)


def test_audio_clip_constructor_rejects_unchecked_samples() -> None:
    """Inputs tried: float64 samples, 2-D samples, a NaN sample, a sample of 1.5, rate 0."""
    for samples in (np.zeros(4), np.zeros((4, 2), np.float32),
                    np.array([np.nan], np.float32), np.array([1.5], np.float32)):
        with pytest.raises(InvalidSamplesError):
            AudioClip(samples, 16000)
    with pytest.raises(SampleRateError):
        AudioClip(np.zeros(4, np.float32), 0)


# --- clip operations --------------------------------------------------------------------------


def test_to_wav_bytes_round_trips_through_load_audio() -> None:
    clip = AudioClip(sine(440, 22050, 0.3), 22050)
    data = clip.to_wav_bytes()
    back = load_audio(data)
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert back.sample_rate == 22050
    np.testing.assert_allclose(back.samples, clip.samples, atol=PCM16_STEP)


def test_write_wav_creates_parent_folders(tmp_path: Path) -> None:
    clip = AudioClip(sine(440, 16000, 0.1), 16000)
    written = write_wav(tmp_path / "a" / "b" / "out.wav", clip)
    assert written == tmp_path / "a" / "b" / "out.wav"
    assert sf.info(written).subtype == "PCM_16"
    np.testing.assert_allclose(load_audio(written).samples, clip.samples, atol=PCM16_STEP)


def test_slice_takes_the_right_samples_and_clamps() -> None:
    clip = AudioClip(np.linspace(-1, 1, 1000, dtype=np.float32), 1000)  # 1 s at 1 kHz
    middle = clip.slice(0.25, 0.5)
    np.testing.assert_array_equal(middle.samples, clip.samples[250:500])
    assert middle.sample_rate == 1000
    assert len(clip.slice(-5.0, 0.1).samples) == 100
    assert len(clip.slice(0.9, 99.0).samples) == 100
    assert len(clip.slice(2.0, 3.0).samples) == 0
    with pytest.raises(ValueError):
        clip.slice(0.5, 0.25)


def test_concatenate_joins_clips_of_one_rate_and_refuses_others() -> None:
    a, b = AudioClip(sine(440, 8000, 0.5), 8000), AudioClip(sine(880, 8000, 0.25), 8000)
    joined = concatenate([a, b])
    assert joined.duration_s == pytest.approx(0.75)
    np.testing.assert_array_equal(joined.samples[: len(a.samples)], a.samples)
    np.testing.assert_array_equal(joined.samples[len(a.samples):], b.samples)
    # Bad inputs tried: an 8 kHz and a 16 kHz clip together; an empty list.
    with pytest.raises(SampleRateError, match="8000, 16000"):
        concatenate([AudioClip(np.zeros(8, np.float32), 8000),
                     AudioClip(np.zeros(8, np.float32), 16000)])
    with pytest.raises(EmptyAudioError):
        concatenate([])


def test_rms_dbfs() -> None:
    full_scale_sine = AudioClip(sine(1000, 48000, 1.0, amplitude=1.0), 48000)
    assert full_scale_sine.rms_dbfs() == pytest.approx(-3.01, abs=0.01)
    assert AudioClip(np.zeros(100, np.float32), 16000).rms_dbfs() == -math.inf
    assert AudioClip(np.zeros(0, np.float32), 16000).rms_dbfs() == -math.inf
