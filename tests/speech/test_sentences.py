"""`speech.sentences`: where streamed text is cut, and that the deltas never change the cuts."""

from __future__ import annotations

import random

import pytest

from speech.sentences import SentenceSplitter, split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello there. How are you? I am fine!", ["Hello there.", "How are you?", "I am fine!"]),
        ("Really?! Yes... I think so… maybe.", ["Really?!", "Yes...", "I think so…", "maybe."]),
        ("Pi is 3.14 and lunch costs $2.50. Done.", ["Pi is 3.14 and lunch costs $2.50.", "Done."]),
        ("We meet at 10.30 today. Bring tea.", ["We meet at 10.30 today.", "Bring tea."]),
        ("Mr. Smith and Mrs. Lee met Ms. Park. Dr. Who and Prof. X left.",
         ["Mr. Smith and Mrs. Lee met Ms. Park.", "Dr. Who and Prof. X left."]),
        ("He lives on Baker St. in London. Cats vs. dogs, etc. are fine. Yes.",
         ["He lives on Baker St. in London.", "Cats vs. dogs, etc. are fine.", "Yes."]),
        ("Bring fruit, e.g. apples, i.e. red ones. Thanks.",
         ["Bring fruit, e.g. apples, i.e. red ones.", "Thanks."]),
        ("Open 9 a.m. to 5 p.m. in the U.S. and more. Bye.",
         ["Open 9 a.m. to 5 p.m. in the U.S. and more.", "Bye."]),
        ("J. R. R. Tolkien wrote it. Read it.", ["J. R. R. Tolkien wrote it.", "Read it."]),
        ('He said "Hi." Then he left.', ['He said "Hi."', "Then he left."]),
        ("(See the notes.) Next one? 'Sure!' Fine.",
         ["(See the notes.)", "Next one?", "'Sure!'", "Fine."]),
        ("Line one\nLine two\n\n  Line three", ["Line one", "Line two", "Line three"]),
        ("No space after.Keeps together. Ok.", ["No space after.Keeps together.", "Ok."]),
        ("No final punctuation", ["No final punctuation"]),
        ("", []),
        ("   \n  ", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_cjk_punctuation_ends_a_sentence_without_a_space() -> None:
    text = "你好，世界。今天天气很好！你呢？我很好；谢谢你"
    assert split_sentences(text) == ["你好，世界。", "今天天气很好！", "你呢？", "我很好；", "谢谢你"]


def test_cjk_closing_quotes_stay_with_their_sentence() -> None:
    assert split_sentences("他说：“你好。”然后就走了。「好的！」") == [
        "他说：“你好。”", "然后就走了。", "「好的！」"
    ]


def test_japanese_and_mixed_scripts() -> None:
    assert split_sentences("こんにちは。元気ですか？Fine, thanks. 良かった。") == [
        "こんにちは。", "元気ですか？", "Fine, thanks.", "良かった。"
    ]


def test_short_sentences_are_merged_into_the_next() -> None:
    assert split_sentences("1. Buy milk. 2. Call mom.") == ["1. Buy milk.", "2. Call mom."]
    assert split_sentences("A! Big day.") == ["A! Big day."]
    assert split_sentences("Oh. Nice.") == ["Oh.", "Nice."]  # 2 letters is enough by default


def test_min_chars_is_configurable() -> None:
    text = "Oh. Really? Yes. Fine then."
    assert split_sentences(text, min_chars=1) == ["Oh.", "Really?", "Yes.", "Fine then."]
    assert split_sentences(text, min_chars=4) == ["Oh. Really?", "Yes. Fine then."]
    with pytest.raises(ValueError):
        SentenceSplitter(min_chars=-1)


def test_a_short_last_sentence_still_comes_out_on_flush() -> None:
    assert split_sentences("All done. K") == ["All done.", "K"]


def test_sentences_come_out_as_soon_as_they_are_certain() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("Hello there") == []
    assert splitter.feed(". How") == ["Hello there."]
    assert splitter.feed(" are you?") == []  # `?` at the end: a `!` or a quote may still follow
    assert splitter.feed("\n") == ["How are you?"]
    assert splitter.feed("好的。") == []
    assert splitter.feed("走") == ["好的。"]
    assert splitter.flush() == ["走"]


def test_a_trailing_dot_waits_for_the_next_delta() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("It costs 3.") == []  # may be 3.14
    assert splitter.feed("14 euros.") == []
    assert splitter.feed(" Ok") == ["It costs 3.14 euros."]
    assert splitter.flush() == ["Ok"]


def test_a_dot_at_the_end_is_final_on_flush_and_flush_resets() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("The end.") == []
    assert splitter.flush() == ["The end."]
    assert splitter.flush() == []
    assert splitter.feed("Again. And") == ["Again."]


def test_feed_rejects_non_text() -> None:
    """Input tried: bytes instead of str."""
    with pytest.raises(TypeError):
        SentenceSplitter().feed(b"hello")  # type: ignore[arg-type]


STREAM_TEXTS = [
    "Hello there. How are you? I am fine!",
    "Pi is 3.14, lunch is $2.50 and we meet at 10.30. Mr. Smith and Dr. Jones agree.",
    'J. R. R. Tolkien said "Hi." (Really!) Then, e.g. at 5 p.m., he left the U.S. for good.',
    "Wait... what?! No way… Yes way.\n\nNew paragraph here.\nAnd one more line",
    "1. First. 2. Second. A. B. C. Done.",
    "你好，世界。今天天气很好！他说：“走吧。”好的；谢谢。Mixed text. 完了",
    "Trailing dots... and more.   Spaces   between.  ",
]


@pytest.mark.parametrize("text", STREAM_TEXTS)
def test_char_by_char_matches_all_at_once(text: str) -> None:
    splitter = SentenceSplitter()
    streamed = [s for char in text for s in splitter.feed(char)] + splitter.flush()
    assert streamed == split_sentences(text)


@pytest.mark.parametrize("text", STREAM_TEXTS)
@pytest.mark.parametrize("seed", range(20))
def test_random_delta_boundaries_match_all_at_once(text: str, seed: int) -> None:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(text)), k=min(len(text) - 1, rng.randint(1, 8))))
    deltas = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
    assert "".join(deltas) == text

    splitter = SentenceSplitter()
    streamed = [s for delta in deltas for s in splitter.feed(delta)] + splitter.flush()
    assert streamed == split_sentences(text)


def test_streamed_sentences_keep_every_character() -> None:
    """Splitting only cuts at whitespace or after punctuation: no visible text is lost or added."""
    for text in STREAM_TEXTS:
        assert "".join(split_sentences(text)).replace(" ", "") == "".join(text.split())


# --- eager first clause ---------------------------------------------------------------------

def _eager(text: str, words: int = 4) -> list[str]:
    splitter = SentenceSplitter(first_clause_words=words)
    return splitter.feed(text) + splitter.flush()


def test_first_clause_is_cut_early_once_it_has_enough_words():
    assert _eager("Sure, here is what I found, the moon is old. It has no air.") == [
        "Sure, here is what I found,", "the moon is old.", "It has no air."]


def test_only_the_first_chunk_is_cut_at_a_clause():
    assert _eager("The moon is quite old. Later, much later, it cooled.") == [
        "The moon is quite old.", "Later, much later, it cooled."]


def test_a_comma_inside_a_number_or_a_short_clause_does_not_cut():
    assert _eager("It costs 1,000 dollars today. Yes.") == ["It costs 1,000 dollars today.", "Yes."]
    assert _eager("Well, yes it is.") == ["Well, yes it is."]


def test_a_first_sentence_without_a_comma_is_cut_before_a_clause_opener():
    text = "The sky looks blue because sunlight scatters in the air. It is the same at sea."
    assert _eager(text) == ["The sky looks blue", "because sunlight scatters in the air.",
                            "It is the same at sea."]
    streamed = SentenceSplitter(first_clause_words=4)
    assert [s for ch in text for s in streamed.feed(ch)] + streamed.flush() == _eager(text)


def test_clause_openers_cut_only_the_first_chunk_and_only_as_whole_words():
    # Tried: "so" inside "some", an opener before the fourth word, and openers in later
    # sentences: none of them cuts.
    assert _eager("I want some soup so much today.") == ["I want some soup", "so much today."]
    assert _eager("Yes and no, I think.") == ["Yes and no, I think."]
    assert _eager("It is late. We sing and dance because it is fun.") == [
        "It is late.", "We sing and dance because it is fun."]
    assert SentenceSplitter().feed("The sky looks blue because of air. ") == [
        "The sky looks blue because of air."]  # without first_clause_words: sentences only


def test_eager_split_does_not_depend_on_delta_boundaries():
    text = "Right now, in Tokyo, it is a quarter past five in the evening. Enjoy your day!"
    splitter = SentenceSplitter(first_clause_words=3)
    by_char = [s for ch in text for s in splitter.feed(ch)] + splitter.flush()
    assert by_char == _eager(text, 3) == [
        "Right now, in Tokyo,", "it is a quarter past five in the evening.", "Enjoy your day!"]


def test_a_long_first_sentence_is_cut_before_a_phrase_two_words_later():
    # Tried: a long opening sentence with neither comma nor clause opener, one where a
    # preposition comes too early to cut, and one where a clause opener comes first.
    text = "The moon is the only planet in our solar system that has no air. It is old."
    assert _eager(text) == ["The moon is the only planet", "in our solar system that has no air.",
                            "It is old."]
    assert _eager("Put the eggs in a pot of cold water. Then heat it.") == [
        "Put the eggs in a pot of cold water.", "Then heat it."]  # "in" after 3 words
    assert _eager("The sky looks blue because light in the air scatters.") == [
        "The sky looks blue", "because light in the air scatters."]
    streamed = SentenceSplitter(first_clause_words=4)
    assert [s for ch in text for s in streamed.feed(ch)] + streamed.flush() == _eager(text)
    # Not a whole word: "information" does not open a phrase.
    assert _eager("Here is some useful background information about it.") == [
        "Here is some useful background information", "about it."]
