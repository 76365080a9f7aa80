"""Chinese style tags on the real Mandarin voice: each tag a Chinese-speaking user writes changes
the audio the way it says, measured (duration, median F0, level, voicing) against the neutral
rendering of the same sentence. The full table is bench/zh_style_effects.py's."""

from __future__ import annotations

import os

import numpy as np
import pytest

from embedded_gate import require

require("ai_edge_litert", "pypinyin")

from agent.models.store import model_store  # noqa: E402
from agent.setup.language_voices import mandarin_decoder  # noqa: E402
from agent.models.errors import ModelUnavailableError  # noqa: E402
from agent.settings import StepvoxSettings  # noqa: E402
from speech.style_tags import parse_leading_tags  # noqa: E402
from speech.scoring.voice_measures import measure, semitones  # noqa: E402

SENTENCE = "今天天气很好，我们去公园散步吧。"


@pytest.fixture(scope="module")
def voice():
    try:
        return mandarin_decoder(model_store(StepvoxSettings(), progress=False))
    except ModelUnavailableError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the Mandarin voice: {exc}", pytrace=False)
        pytest.skip(str(exc))


def _measured(voice, tagged: str):
    parsed = parse_leading_tags(tagged)
    assert parsed.text == SENTENCE, "the tag must be taken off the text, not read out"
    samples = np.concatenate([c.samples for c in voice.synthesize_sync(parsed.text,
                                                                        parsed.style)])
    return measure(samples, voice.sample_rate)


@pytest.fixture(scope="module")
def neutral(voice):
    return _measured(voice, SENTENCE)


@pytest.mark.parametrize(("tag", "low", "high"), [
    ("(快速2)", 0.65, 0.85), ("(慢速2)", 1.2, 1.5), ("(快速1)", 0.8, 0.95),
])
def test_speed_tags_change_the_duration(voice, neutral, tag, low, high):
    ratio = _measured(voice, tag + SENTENCE).duration_s / neutral.duration_s
    assert low < ratio < high, f"{tag}: duration x{ratio:.2f}"


@pytest.mark.parametrize(("tag", "low", "high"), [("(大声2)", 4.0, 9.0), ("(小声2)", -11.0, -5.0)])
def test_volume_tags_change_the_level(voice, neutral, tag, low, high):
    change = _measured(voice, tag + SENTENCE).rms_dbfs - neutral.rms_dbfs
    assert low < change < high, f"{tag}: {change:+.1f} dB"


@pytest.mark.parametrize(("tag", "low", "high"), [("(高音2)", 2.5, 5.5), ("(低音2)", -5.5, -2.5)])
def test_pitch_tags_move_the_voice(voice, neutral, tag, low, high):
    change = semitones(_measured(voice, tag + SENTENCE).median_f0_hz / neutral.median_f0_hz)
    assert low < change < high, f"{tag}: {change:+.1f} semitones"


@pytest.mark.parametrize("tag", ["(悄悄话)", "(低语1)", "(耳语)"])
def test_whisper_tags_take_the_voicing_away(voice, neutral, tag):
    whispered = _measured(voice, tag + SENTENCE)
    assert whispered.voiced_fraction < 0.5 * neutral.voiced_fraction
    assert whispered.rms_dbfs < neutral.rms_dbfs - 3


def test_emotions_are_heard_as_prosody(voice, neutral):
    happy, sad = _measured(voice, "(高兴2)" + SENTENCE), _measured(voice, "(悲伤2)" + SENTENCE)
    assert semitones(happy.median_f0_hz / neutral.median_f0_hz) > 1.5
    assert happy.duration_s < neutral.duration_s and happy.rms_dbfs > neutral.rms_dbfs
    assert semitones(sad.median_f0_hz / neutral.median_f0_hz) < -1.5
    assert sad.duration_s > 1.2 * neutral.duration_s and sad.rms_dbfs < neutral.rms_dbfs - 3
