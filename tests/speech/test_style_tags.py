"""Style tags: the `Style` model, the parser (brackets, names, levels, stacking) and renderers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from speech.style import NEUTRAL, Emotion, Language, Paralinguistic, Style
from speech.style_tags import (
    parse_leading_tags, render_console_tag, render_editx, render_step_audio, tag_key,
    tag_protocol_text, tag_style,
)


@pytest.mark.parametrize("tag, expected", [
    ("高兴1", Style(emotion=Emotion.HAPPY, emotion_level=1)),
    ("高兴2", Style(emotion=Emotion.HAPPY, emotion_level=2)),
    ("happy", Style(emotion=Emotion.HAPPY)),
    ("Happy 2", Style(emotion=Emotion.HAPPY, emotion_level=2)),
    ("生气1", Style(emotion=Emotion.ANGRY)),
    ("悲伤1", Style(emotion=Emotion.SAD)),
    ("撒娇1", Style(emotion=Emotion.COQUETTISH)),
    ("低语1", Style(whisper=True)),
    ("whisper", Style(whisper=True)),
    ("粤语", Style(language=Language.CANTONESE)),
    ("广东话", Style(language=Language.CANTONESE)),
    ("Cantonese", Style(language=Language.CANTONESE)),
    ("四川话", Style(language=Language.SICHUANESE)),
    ("英文", Style(language=Language.ENGLISH)),
    ("RAP", Style(rap=True)),
    ("rap", Style(rap=True)),
    ("哼唱", Style(singing=True)),
    ("humming", Style(singing=True)),
    ("慢速2", Style(speed=-2)),
    ("快速1", Style(speed=1)),
    ("fast-2", Style(speed=2)),
    ("高音1", Style(pitch=1)),
    ("low pitch 2", Style(pitch=-2)),
    ("大声1", Style(volume=1)),
    ("Laughter", Style(paralinguistics=(Paralinguistic.LAUGHTER,))),
    ("Surprise-oh", Style(paralinguistics=(Paralinguistic.SURPRISE_OH,))),
    ("sighs", Style(paralinguistics=(Paralinguistic.SIGH,))),
])
def test_each_tag_name_in_chinese_or_english_parses_to_its_style(tag, expected):
    assert tag_style(tag) == expected


@pytest.mark.parametrize("tag", ["excited", "高兴9", "", "hello world foo bar", "see above"])
def test_unknown_names_are_not_tags(tag):
    assert tag_style(tag) is None
    assert tag_key(tag) is None


@pytest.mark.parametrize("text", [
    "(高兴1)(粤语)(快速1)你好",
    "（高兴1）（粤语）（快速1）你好",
    "(happy)(Cantonese)(fast)你好",
    "  (高兴1) （粤语）(fast 1) 你好",
])
def test_stacked_tags_in_either_bracket_width_give_one_style(text):
    parsed = parse_leading_tags(text)
    assert parsed.text == "你好"
    assert parsed.style == Style(emotion=Emotion.HAPPY, language=Language.CANTONESE, speed=1)
    assert parsed.dropped == []


def test_later_tags_override_earlier_and_sounds_accumulate():
    parsed = parse_leading_tags("(高兴1)(悲伤2)[Laughter][Sigh]Oh.")
    assert parsed.style.emotion is Emotion.SAD and parsed.style.emotion_level == 2
    assert parsed.style.paralinguistics == (Paralinguistic.LAUGHTER, Paralinguistic.SIGH)
    assert parsed.text == "Oh."


def test_unknown_and_disallowed_tags_are_dropped_and_reported():
    parsed = parse_leading_tags("(excited)(高兴1)(粤语)Hi (there)", allowed=["happy"])
    assert parsed.text == "Hi (there)"
    assert parsed.style == Style(emotion=Emotion.HAPPY)
    assert parsed.dropped == ["(excited)", "(粤语)"]


def test_prose_in_brackets_is_not_a_tag():
    text = "(This is a long aside, with punctuation.) Hello"
    assert parse_leading_tags(text).text == text


def test_style_over_keeps_base_fields_the_tags_did_not_set():
    default = Style(language=Language.ENGLISH, speed=-1, emotion=Emotion.SAD)
    tagged = tag_style("高兴2")
    merged = tagged.over(default)
    assert merged == Style(language=Language.ENGLISH, speed=-1, emotion=Emotion.HAPPY,
                           emotion_level=2)
    # neutral clears the emotion set by the default
    assert tag_style("neutral").over(default).emotion is None


def test_style_validates_levels():
    with pytest.raises(ValidationError):
        Style(speed=9)
    with pytest.raises(ValidationError):
        Style(emotion_level=0)
    assert NEUTRAL.is_neutral and not Style(speed=1).is_neutral


def test_step_audio_renderer_writes_the_demo_tag_string():
    style = parse_leading_tags("(happy)(Cantonese)(fast)x").style
    assert render_step_audio(style) == "(高兴1)(粤语)(快速1)"
    assert render_step_audio(NEUTRAL) == ""
    assert render_step_audio(Style(speed=-2, whisper=True)) == "(低语1)(慢速2)"
    # Step-Audio has no pitch or volume tag: nothing is invented for them
    assert render_step_audio(Style(pitch=2, volume=-1)) == ""


@pytest.mark.parametrize("tags, expected", [
    ("(高兴1)(粤语)(快速1)(RAP)", "(RAP)"),
    ("(高兴1)(粤语)(快速1)", "(粤语)"),
    ("(高兴2)(快速1)", "(高兴2)"),
    ("(慢速1)", "(慢速1)"),
    ("(哼唱)(高兴1)", "(哼唱)"),
    ("", ""),
])
def test_console_renderer_keeps_one_tag_by_priority(tags, expected):
    assert render_console_tag(parse_leading_tags(tags + "x").style) == expected


def test_editx_renderer_writes_dialect_and_paralinguistic_tags():
    style = parse_leading_tags("(四川话)[Laughter](breathing)x").style
    assert render_editx(style) == "[Sichuanese][Laughter][Breathing]"


def test_tag_protocol_names_the_allowed_tags():
    text = tag_protocol_text(["happy", "悲伤", "Laughter"])
    assert "(高兴1) happy" in text and "(悲伤1) sad" in text and "[Laughter]" in text
    assert "粤语" not in text
    # The example may not read as a whole reply the model could copy ("Sure, here it is.").
    assert "here it is" not in text.lower() and "(高兴1)What wonderful news!" in text
    assert tag_protocol_text([]) == ""
    with pytest.raises(ValueError, match="unknown style tag"):
        tag_protocol_text(["excited"])
