"""Measures of rendered speech (F0, level, flatness, voicing), numpy only.

Used by the style tests and `bench/style_effects.py` to show that a style tag really changed
the audio, and by how much.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_FRAME_S = 0.040
_HOP_S = 0.010


def _frames(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    frame, hop = int(_FRAME_S * sample_rate), int(_HOP_S * sample_rate)
    x = samples.astype(np.float64)
    if len(x) < frame:
        x = np.pad(x, (0, frame - len(x)))
    count = 1 + (len(x) - frame) // hop
    return x[np.arange(frame)[None, :] + hop * np.arange(count)[:, None]]


def f0_track(samples: np.ndarray, sample_rate: int, *, fmin: float = 50.0,
             fmax: float = 500.0, voicing: float = 0.45) -> np.ndarray:
    """F0 in Hz per 10 ms frame, 0 where unvoiced: normalized autocorrelation peak in the
    [fmin, fmax] lag range, with parabolic interpolation; a frame is voiced when its peak
    reaches `voicing` and it is louder than 40 dB under the loudest frame."""
    frames = _frames(samples, sample_rate)
    frames = frames - frames.mean(axis=1, keepdims=True)
    energy = np.sum(frames ** 2, axis=1)
    loud = energy > energy.max() * 1e-4 if len(energy) else energy
    n = frames.shape[1]
    spectrum = np.fft.rfft(frames * np.hanning(n), n=2 * n, axis=1)
    ac = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :n]
    window_ac = np.correlate(np.hanning(n), np.hanning(n), "full")[n - 1:]
    ac = ac / (ac[:, :1] + 1e-12) / (window_ac / window_ac[0] + 1e-12)
    lo, hi = int(sample_rate / fmax), min(int(sample_rate / fmin), n - 2)
    band = ac[:, lo:hi]
    best = band.max(axis=1, keepdims=True)
    # The first local peak close to the best one: multiples of the period score as high as
    # the period itself, and taking the largest would report an octave too low.
    local = (band[:, 1:-1] >= band[:, :-2]) & (band[:, 1:-1] >= band[:, 2:])
    candidate = local & (band[:, 1:-1] >= 0.85 * best)
    lags = np.where(candidate.any(axis=1), np.argmax(candidate, axis=1) + 1,
                    np.argmax(band, axis=1)) + lo
    rows = np.arange(len(lags))
    peak = ac[rows, lags]
    a, b, c = ac[rows, lags - 1], peak, ac[rows, lags + 1]
    shift = 0.5 * (a - c) / np.where(np.abs(a - 2 * b + c) > 1e-12, a - 2 * b + c, 1e-12)
    f0 = sample_rate / (lags + np.clip(shift, -1, 1))
    return np.where((peak >= voicing) & loud, f0, 0.0)


@dataclass(frozen=True, slots=True)
class VoiceMeasures:
    duration_s: float
    median_f0_hz: float  # over voiced frames; 0 when none
    f0_spread_semitones: float  # inter-quartile range of voiced F0: a melody widens it
    rms_dbfs: float
    spectral_flatness: float  # geometric / arithmetic mean of the power spectrum, loud frames
    voiced_fraction: float  # voiced frames / loud frames


def measure(samples: np.ndarray, sample_rate: int) -> VoiceMeasures:
    x = samples.astype(np.float64)
    f0 = f0_track(x, sample_rate)
    voiced = f0[f0 > 0]
    frames = _frames(x, sample_rate)
    energy = np.sum(frames ** 2, axis=1)
    loud = energy > energy.max() * 1e-3 if len(energy) else np.zeros(0, bool)
    power = np.abs(np.fft.rfft(frames[loud] * np.hanning(frames.shape[1]), axis=1)) ** 2 + 1e-12
    flatness = np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1)
    spread = 0.0
    if len(voiced) > 4:
        q1, q3 = np.percentile(12 * np.log2(voiced), [25, 75])
        spread = float(q3 - q1)
    rms = float(np.sqrt(np.mean(x ** 2))) if len(x) else 0.0
    loud_count = max(1, int(loud.sum()))
    return VoiceMeasures(
        duration_s=len(x) / sample_rate,
        median_f0_hz=float(np.median(voiced)) if len(voiced) else 0.0,
        f0_spread_semitones=spread,
        rms_dbfs=float(20 * np.log10(max(rms, 1e-10))),
        spectral_flatness=float(np.mean(flatness)) if len(flatness) else 0.0,
        voiced_fraction=float(np.sum((f0 > 0)[: len(loud)] & loud) / loud_count),
    )


def semitones(ratio: float) -> float:
    return 12 * float(np.log2(ratio)) if ratio > 0 else float("nan")
