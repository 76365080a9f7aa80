"""Synthetic speech-like input for the realtime tests: tone bursts and silence, so the
energy VAD sees exactly the speech the test means."""

from __future__ import annotations

import numpy as np

RATE = 16_000


def tone(seconds: float, rate: int = RATE, freq: float = 300.0, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(round(seconds * rate)), dtype=np.float32) / rate
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def silence(seconds: float, rate: int = RATE) -> np.ndarray:
    return np.zeros(int(round(seconds * rate)), dtype=np.float32)


def pcm16(x: np.ndarray) -> bytes:
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


def frames(x: np.ndarray, rate: int = RATE, frame_ms: int = 20) -> list[np.ndarray]:
    n = int(rate * frame_ms / 1000)
    return [x[i:i + n] for i in range(0, len(x), n)]


def jfk_16k(path) -> np.ndarray:
    """The shared JFK recording, mono at 16 kHz (skips the test when the shared data is
    absent)."""
    import pytest

    if not path.exists():
        pytest.skip(f"shared test audio missing: {path}")
    import soundfile as sf
    import soxr

    x, rate = sf.read(str(path), dtype="float32")
    x = x.mean(axis=1) if x.ndim == 2 else x
    return soxr.resample(x, rate, 16_000).astype(np.float32)
