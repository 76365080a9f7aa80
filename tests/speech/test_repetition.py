"""Loops in generated text (`speech.repetition`): a reply that falls into saying one phrase
over and over is cut after the loop's first copy; ordinary repetition is left alone."""

from __future__ import annotations

import pytest

from speech.repetition import held_from, loop_cut

STORY = ("The tavern is a place where ships are lost. The captain is in charge of keeping the "
         "ships safe, and the captain is in charge of keeping the ships safe, and the captain is")


def first_cut(text: str) -> tuple[int, str] | None:
    """Feed `text` a character at a time, as a stream would; where the first cut comes."""
    for i in range(1, len(text) + 1):
        if (kept := loop_cut(text[:i])) is not None:
            return i, kept
    return None


def test_a_long_phrase_said_twice_is_cut_after_its_first_copy():
    # Tried: the 0.5B model's greedy story, as streamed.
    at, kept = first_cut(STORY)
    assert kept == ("The tavern is a place where ships are lost. The captain is in charge of "
                    "keeping the ships safe.")
    assert at < len(STORY)  # found while the loop was still being written


@pytest.mark.parametrize("text, kept", [
    ("I love the sea. I love the sea. I love the sea.", "I love the sea."),
    ("Well ha ha ha ha ha", "Well ha."),
    ("我很高兴我很高兴我很高兴", "我很高兴。"),
    # Tried: Captain Bram to "I just got a puppy!" (greedy): the bracket that opened the
    # second copy was kept and spoken as "Puppy! (".
    ("Puppy! (laugh) (laugh) (laugh) (laugh) (laugh) (laugh) (", "Puppy! (laugh)"),
    ("Ha! [Laughter] [Laughter] [Laughter] [Laughter] [Laughter] [", "Ha! [Laughter]"),
])
def test_short_loops_need_more_copies(text, kept):
    assert first_cut(text)[1] == kept


@pytest.mark.parametrize("text", [
    "No, no, no, I said Tuesday.",
    "Happy birthday to you, happy birthday to you, happy birthday dear Sam.",
    "It is very, very cold in Oslo today.",
    "Row, row, row your boat, gently down the stream.",
    "The capital of France is Paris. The capital of Spain is Madrid.",
    "一二三四五六七八九十。",
    "",
])
def test_ordinary_replies_are_never_cut(text):
    assert first_cut(text) is None


def test_a_long_chinese_sentence_said_again_is_cut():
    # Tried: 小跃's greedy story at temperature 0.3 (the sentence is ~27 characters long).
    line = "小朋友们在海边散步时，可以听到小朋友们在海边散步时的天气。"
    text = "小狐狸告诉小朋友们一个秘密。" + line * 3
    assert first_cut(text)[1] == "小狐狸告诉小朋友们一个秘密。" + line


def shown_while_streaming(text: str) -> str:
    """What a caption fed a character at a time shows before the stream ends."""
    return text[:held_from(text)]


def test_the_start_of_a_second_copy_is_held_back_from_the_caption():
    # Tried: the 0.5B's greedy story as it streamed, up to the moment before the loop is cut
    # (the second copy is seven words in, one short of a confirmed loop).
    text = ("The tavern is a place where ships are lost. The captain is in charge of keeping "
            "the ships safe, and the captain is in charge of keeping the")
    assert loop_cut(text) is None
    shown = shown_while_streaming(text)
    assert shown.lower().count("the captain is in charge") == 1
    assert shown.startswith("The tavern is a place where ships are lost. The captain")


@pytest.mark.parametrize("text", [
    "The weather in Paris is sunny and warm today",
    "Oslo is the capital of Norway, and Stockholm is the capital of Sweden",
    "北京是中国的首都。",
])
def test_ordinary_text_is_shown_up_to_its_newest_word(text):
    # Tried: replies with a repeated word or two ("is the capital of") but no copy of the
    # words just before the end.
    assert shown_while_streaming(text) == text
