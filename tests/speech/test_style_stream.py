"""The streaming tag stripper: tags split across deltas never reach the sentences."""

from __future__ import annotations

import random

import pytest

from speech.sentences import split_sentences
from speech.style import Emotion, Language, Paralinguistic, Style
from speech.style_stream import StyledSentenceSplitter

REPLY = ("(高兴1)(快速1)Hello there! (悲伤1)But sadly, the fee (in euros) is high. "
         "[Laughter] Just kidding.(excited) Bye.")


def run(deltas, **kwargs):
    splitter = StyledSentenceSplitter(**kwargs)
    clean, sentences = "", []
    for delta in deltas:
        piece, done = splitter.feed(delta)
        clean += piece
        sentences += done
    piece, done = splitter.flush()
    return clean + piece, sentences + done, splitter.dropped


def cuts(text, rng):
    """`text` cut into random pieces of 1-4 characters."""
    pieces, i = [], 0
    while i < len(text):
        n = rng.randint(1, 4)
        pieces.append(text[i:i + n])
        i += n
    return pieces


def test_tags_are_removed_and_each_sentence_gets_its_style():
    clean, sentences, dropped = run([REPLY])
    assert clean == "Hello there! But sadly, the fee (in euros) is high. Just kidding. Bye."
    assert [s.text for s in sentences] == [
        "Hello there!", "But sadly, the fee (in euros) is high.", "Just kidding.", "Bye."]
    happy_fast = Style(emotion=Emotion.HAPPY, speed=1)
    sad_fast = Style(emotion=Emotion.SAD, speed=1)  # the speed tag holds until changed
    assert [s.style for s in sentences] == [
        happy_fast, sad_fast,
        Style(emotion=Emotion.SAD, speed=1, paralinguistics=(Paralinguistic.LAUGHTER,)),
        sad_fast,  # the laughter was one-shot
    ]
    assert dropped == ["(excited)"]


@pytest.mark.parametrize("seed", range(25))
def test_result_does_not_depend_on_where_the_deltas_were_cut(seed):
    expected = run([REPLY])
    assert run(cuts(REPLY, random.Random(seed))) == expected


def test_character_by_character_chinese_reply():
    text = "（高兴2）（粤语）你好！（悲伤1）今天下雨。"
    clean, sentences, _ = run(list(text))
    assert clean == "你好！今天下雨。"
    assert [(s.text, s.style) for s in sentences] == [
        ("你好！", Style(emotion=Emotion.HAPPY, emotion_level=2, language=Language.CANTONESE)),
        ("今天下雨。", Style(emotion=Emotion.SAD, language=Language.CANTONESE)),
    ]


def test_default_style_lies_under_the_tags():
    default = Style(language=Language.ENGLISH, speed=-1)
    _, sentences, _ = run(["Hi there. (fast 2)Quick now."], default_style=default)
    assert [s.style for s in sentences] == [
        default, Style(language=Language.ENGLISH, speed=2)]


def test_without_tags_sentences_match_the_plain_splitter():
    text = "Mr. Smith paid $3.50 (cash). Then he left! Did he? Yes… quite so"
    clean, sentences, dropped = run(cuts(text, random.Random(1)))
    assert clean == text
    assert [s.text for s in sentences] == split_sentences(text)
    assert dropped == []


def test_a_tag_alone_on_a_line_carries_to_the_next_sentence():
    _, sentences, _ = run(["(悲伤1)\n", "I lost it."])
    assert [(s.text, s.style.emotion) for s in sentences] == [("I lost it.", Emotion.SAD)]


def test_tag_after_sentence_end_without_space_still_splits():
    _, sentences, _ = run(["Great.(悲伤1)Oh no."])
    assert [(s.text, s.style.emotion) for s in sentences] == [
        ("Great.", None), ("Oh no.", Emotion.SAD)]


def test_unclosed_bracket_is_released_as_text_at_the_end():
    clean, sentences, _ = run(["Call me (maybe"])
    assert clean == "Call me (maybe"
    assert [s.text for s in sentences] == ["Call me (maybe"]


def test_disallowed_tags_are_dropped_but_not_applied():
    _, sentences, dropped = run(["(粤语)(高兴1)Hi."], allowed=["happy"])
    assert sentences[0].style == Style(emotion=Emotion.HAPPY)
    assert dropped == ["(粤语)"]


def test_known_tag_mid_sentence_is_stripped_and_unknown_prose_kept():
    clean, sentences, dropped = run(["It was (laughs) so funny (really)."])
    assert clean == "It was so funny (really)."
    assert sentences[0].style.paralinguistics == (Paralinguistic.LAUGHTER,)
    assert dropped == []


def test_a_tag_cut_off_by_the_reply_end_is_dropped_not_spoken():
    # Tried: a reply that hit the token limit mid-tag ("Puppy! (laugh) (").
    s = StyledSentenceSplitter()
    clean, sentences = s.feed("Puppy! (laugh) (")
    rest, more = s.flush()
    assert [x.text for x in sentences + more] == ["Puppy!"]
    assert "(" not in clean + rest and s.dropped[-1] == "("
    # Mid-sentence, a bracket left open at the end is the model's prose and is kept.
    s = StyledSentenceSplitter()
    s.feed("The fee is fifty euros (")
    assert [x.text for x in s.flush()[1]] == ["The fee is fifty euros ("]


def test_tags_in_a_row_are_counted_until_a_word():
    s = StyledSentenceSplitter()
    s.feed("Ha! (laugh) (laugh) (laugh) ")
    assert s.tags_in_a_row == 3
    s.feed("(高兴1)Well.")
    assert s.tags_in_a_row == 0
