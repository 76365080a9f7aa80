"""Signal-level voice effects for decoders without native style control (Piper).

Pitch is shifted the way the embedded-stack notes suggest: synthesize k times slower, then
resample by k, which raises pitch by k at the original speed (formants move too, like a
tape speed-up; fine for +-4 semitones). A pitch *contour* (singing, humming) uses the same
trick with a time-varying rate. Whisper replaces the voiced excitation by noise under the
speech's own spectral envelope.
"""

from __future__ import annotations

import numpy as np

_FRAME = 1024
_HOP = 256


def resample_by(samples: np.ndarray, factor: float) -> np.ndarray:
    """Play `samples` `factor` times faster: `len/factor` samples, pitch times `factor`."""
    if abs(factor - 1.0) < 1e-6 or len(samples) < 2:
        return samples.astype(np.float32)
    import soxr  # a core dependency; imported late so `speech` stays light

    return soxr.resample(samples.astype(np.float32), 1.0 * factor, 1.0).astype(np.float32)


def contour_resample(samples: np.ndarray, sample_rate: int, semitones: np.ndarray,
                     step_s: float) -> np.ndarray:
    """Read through `samples` at a rate that follows `semitones` (one value per `step_s`,
    repeated cyclically), so the pitch follows that contour. The output is shorter by the
    mean rate: the caller synthesizes that much slower to keep the speed."""
    n = len(samples)
    if n < 2:
        return samples.astype(np.float32)
    step = max(1, int(step_s * sample_rate))
    rates = 2.0 ** (np.asarray(semitones, dtype=np.float64) / 12.0)
    # Smooth the steps over 40 ms so note changes glide instead of clicking.
    per_out = np.repeat(rates, step)
    glide = max(1, int(0.04 * sample_rate))
    per_out = np.convolve(np.concatenate([per_out, per_out[:glide]]),
                          np.ones(glide) / glide, mode="valid")[: len(per_out)]
    reps = int(np.ceil(n / (per_out.mean() * len(per_out)))) + 1
    per_out = np.tile(per_out, reps)
    positions = np.cumsum(per_out) - per_out[0]
    positions = positions[positions < n - 1]
    return np.interp(positions, np.arange(n), samples).astype(np.float32)


def contour_mean_rate(semitones: np.ndarray) -> float:
    return float(np.mean(2.0 ** (np.asarray(semitones, dtype=np.float64) / 12.0)))


def apply_gain(samples: np.ndarray, gain: float) -> np.ndarray:
    """Quieter is a plain gain. Louder goes through a soft limiter, because Piper already
    normalizes peaks to full scale: the level (RMS) rises, nothing clips."""
    if gain <= 1.0:
        return (samples * gain).astype(np.float32)
    peak = float(np.max(np.abs(samples))) or 1.0
    limited = np.tanh(gain * samples / peak) * peak / np.tanh(gain)
    return limited.astype(np.float32)


def whisper(samples: np.ndarray, sample_rate: int, *, seed: int = 0) -> np.ndarray:
    """A whisper rendering: white noise shaped, frame by frame, by the speech's smoothed
    magnitude spectrum. Harmonics (the voicing) are smoothed away, so what is left is
    breath noise with the speech's formants and loudness contour."""
    x = samples.astype(np.float64)
    n = len(x)
    if n < _FRAME:
        x = np.pad(x, (0, _FRAME - n))
    window = np.hanning(_FRAME)
    frames = 1 + (len(x) - _FRAME) // _HOP
    padded = np.pad(x, (0, _FRAME + frames * _HOP - len(x)))
    index = np.arange(_FRAME)[None, :] + _HOP * np.arange(frames + 1)[:, None]
    spectra = np.fft.rfft(padded[index] * window, axis=1)
    # Smooth over ~400 Hz: wider than the harmonic spacing of a speaking voice (100-250 Hz).
    width = max(3, int(400 / (sample_rate / _FRAME)) | 1)
    kernel = np.ones(width) / width
    envelope = np.apply_along_axis(lambda m: np.convolve(m, kernel, mode="same"), 1,
                                   np.abs(spectra))
    rng = np.random.default_rng(seed)
    noise = np.fft.rfft(rng.standard_normal(padded[index].shape) * window, axis=1)
    noise /= np.abs(noise) + 1e-12
    frames_out = np.fft.irfft(envelope * noise, n=_FRAME, axis=1) * window
    out = np.zeros(len(padded) + _FRAME)
    norm = np.zeros_like(out)
    for i, frame in enumerate(frames_out):
        out[i * _HOP: i * _HOP + _FRAME] += frame
        norm[i * _HOP: i * _HOP + _FRAME] += window ** 2
    out = out / np.maximum(norm, 1e-3)
    out = out[:n]
    # Keep the input's level: a whisper is made quieter on purpose by the caller, not here.
    rms_in, rms_out = np.sqrt(np.mean(x[:n] ** 2)), np.sqrt(np.mean(out ** 2))
    if rms_out > 0:
        out *= rms_in / rms_out
    return np.clip(out, -1.0, 1.0).astype(np.float32)
