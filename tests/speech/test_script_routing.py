"""Script routing: Chinese characters to the Mandarin voice, Latin words to the English one;
dialect tags without a voice fall back once, loudly, and are never read out."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import typer

from agent.cli.say import say_text
from fakes import RecordingDecoder
from personas import PersonaLibrary
from speech.script_routing import BilingualDecoder, ScriptRun, split_by_script
from speech.style import Language, Style


@pytest.mark.parametrize(("text", "runs"), [
    ("我们去 Starbucks 吧。", [("han", "我们去"), ("latin", "Starbucks"), ("han", "吧。")]),
    ("我们去Starbucks吧", [("han", "我们去"), ("latin", "Starbucks"), ("han", "吧")]),
    ("我买了 iPhone 16，花了5999元。",
     [("han", "我买了"), ("latin", "iPhone 16"), ("han", "，花了5999元。")]),
    ("他叫 Dr. Smith，是医生。", [("han", "他叫"), ("latin", "Dr. Smith"), ("han", "，是医生。")]),
    ("用 Wi-Fi 上网", [("han", "用"), ("latin", "Wi-Fi"), ("han", "上网")]),
    ("Hello, world.", [("latin", "Hello, world.")]),
    ("2026", [("han", "2026")]),
    ("", []),
    ("  ", []),
])
def test_split_by_script(text, runs):
    assert split_by_script(text) == [ScriptRun(s, t) for s, t in runs]


def test_digits_alone_follow_the_persona_language():
    assert split_by_script("2026", default="latin") == [ScriptRun("latin", "2026")]


def _voices():
    mandarin, english = RecordingDecoder(sample_rate=24000), RecordingDecoder(sample_rate=22050)
    return mandarin, english, BilingualDecoder(mandarin, english, primary="zh")


async def test_a_mixed_sentence_plays_each_word_in_its_own_voice_at_one_rate():
    mandarin, english, decoder = _voices()
    chunks = [c async for c in decoder.synthesize("我们去 Starbucks 吧。")]
    assert mandarin.texts == ["我们去", "吧。"] and english.texts == ["Starbucks"]
    assert [c.extra["voice"] for c in chunks] == ["zh", "en", "zh"]
    assert {c.sample_rate for c in chunks} == {24000} and decoder.sample_rate == 24000
    # The English run was resampled, so its duration is kept.
    assert chunks[1].duration_s == pytest.approx(english.samples_for("Starbucks") / 22050, rel=0.01)
    assert all(np.abs(c.samples).max() <= 1.0 for c in chunks)


async def test_english_persona_primary_sets_the_rate():
    mandarin, english = RecordingDecoder(sample_rate=24000), RecordingDecoder(sample_rate=22050)
    decoder = BilingualDecoder(mandarin, english, primary="en")
    chunks = [c async for c in decoder.synthesize("Say 你好 please.")]
    assert decoder.sample_rate == 22050 and {c.sample_rate for c in chunks} == {22050}
    assert mandarin.texts == ["你好"]


async def test_a_dialect_without_a_voice_falls_back_to_mandarin_once(caplog):
    mandarin, english, decoder = _voices()
    sichuanese = Style(language=Language.SICHUANESE)
    with caplog.at_level(logging.WARNING, logger="speech.script_routing"):
        first = [c async for c in decoder.synthesize("你好噻。", sichuanese)]
        second = [c async for c in decoder.synthesize("巴适得很。", sichuanese)]
    assert [r.getMessage() for r in caplog.records].count(caplog.records[0].getMessage()) == 1
    assert "sichuanese" in caplog.records[0].getMessage()
    assert all(c.extra["voice_fallback"] == "sichuanese -> mandarin" for c in first + second)
    assert mandarin.styles == [Style(language=Language.CHINESE)] * 2


async def test_a_dialect_tag_is_never_read_out():
    mandarin, english, decoder = _voices()
    spoken = await say_text("(四川话)你好噻，今天耍得巴适不？", decoder,
                            PersonaLibrary().get("xiaoyue"))
    assert mandarin.texts == ["你好噻，今天耍得巴适不？"] and english.texts == []
    assert spoken.sentences[0].style.language == Language.SICHUANESE


async def test_nothing_to_say_is_a_clear_error():
    _, _, decoder = _voices()
    with pytest.raises(typer.BadParameter, match="nothing to say"):
        await say_text("", decoder, PersonaLibrary().get("xiaoyue"))
    with pytest.raises(typer.BadParameter, match="nothing to say"):
        await say_text("(四川话)", decoder, PersonaLibrary().get("xiaoyue"))
