"""Signal effects and Style -> Piper mapping, measured on synthetic voiced signals (no models)."""

from __future__ import annotations

import numpy as np
import pytest

from speech.piper.style import PiperRendering, piper_rendering
from speech.style import Emotion, Style
from speech.voice_effects import apply_gain, contour_resample, resample_by, whisper
from speech.scoring.voice_measures import measure, semitones

SR = 22050


def vowel(f0=120.0, seconds=1.0):
    """A buzzy vowel-like tone: harmonics of f0 with a 1/k roll-off and a slow amplitude swell."""
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 30) if f0 * k < SR / 2)
    return (0.3 * x / np.max(np.abs(x)) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))).astype(
        np.float32)


def test_measures_find_the_f0_of_a_voiced_tone():
    for f0 in (90.0, 140.0, 230.0):
        assert measure(vowel(f0), SR).median_f0_hz == pytest.approx(f0, rel=0.01)


@pytest.mark.parametrize("shift", [-4.0, 3.0, 5.0])
def test_resample_by_shifts_f0_by_the_factor(shift):
    factor = 2 ** (shift / 12)
    out = resample_by(vowel(), factor)
    assert len(out) == pytest.approx(SR / factor, rel=0.01)
    measured = semitones(measure(out, SR).median_f0_hz / 120.0)
    assert measured == pytest.approx(shift, abs=0.15)


def test_contour_resample_spreads_f0_over_the_melody():
    melody = np.array([0.0, 4.0, 7.0, 4.0])
    out = contour_resample(vowel(seconds=2.0), SR, melody, 0.25)
    m = measure(out, SR)
    assert measure(vowel(seconds=2.0), SR).f0_spread_semitones < 0.1
    assert m.f0_spread_semitones > 3.0


def test_whisper_removes_voicing_and_flattens_the_spectrum():
    voiced, whispered = measure(vowel(), SR), measure(whisper(vowel(), SR), SR)
    assert voiced.voiced_fraction > 0.95
    assert whispered.voiced_fraction < 0.3
    assert whispered.spectral_flatness > 10 * voiced.spectral_flatness
    assert whispered.rms_dbfs == pytest.approx(voiced.rms_dbfs, abs=1.0)


def test_gain_changes_rms_and_never_clips():
    x = vowel() / np.max(np.abs(vowel()))  # full scale, as Piper normalizes
    base = measure(x, SR).rms_dbfs
    assert measure(apply_gain(x, 10 ** (-8 / 20)), SR).rms_dbfs - base == pytest.approx(-8, abs=0.1)
    louder = apply_gain(x, 10 ** (8 / 20))
    assert np.max(np.abs(louder)) <= 1.0 + 1e-6
    assert measure(louder, SR).rms_dbfs - base > 2.0


def test_piper_rendering_of_styles():
    assert piper_rendering(None) == PiperRendering() == piper_rendering(Style())
    fast, slow = piper_rendering(Style(speed=2)), piper_rendering(Style(speed=-1))
    assert fast.length_factor < 1 < slow.length_factor
    assert piper_rendering(Style(pitch=2)).pitch_semitones == 4.0
    assert piper_rendering(Style(volume=-1)).gain_db == -4.0
    happy = piper_rendering(Style(emotion=Emotion.HAPPY, emotion_level=2))
    sad = piper_rendering(Style(emotion=Emotion.SAD))
    assert happy.pitch_semitones > 0 > sad.pitch_semitones
    assert happy.noise_factor > 1 > sad.noise_factor and sad.length_factor > 1
    assert piper_rendering(Style(whisper=True)).whisper
    assert piper_rendering(Style(singing=True)).melody
    assert piper_rendering(Style(rap=True)).length_factor < fast.length_factor * 1.01
