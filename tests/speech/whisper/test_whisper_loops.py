"""The short-window Whisper path's loop check (`speech.repetition.repeats_itself`): a greedy
decoder that repeats itself is redone the standard way; real speech is left alone."""

from __future__ import annotations

import pytest

from speech.repetition import repeats_itself


@pytest.mark.parametrize("text", [
    "10 of clubs 10 of clubs 10 of clubs 10 of clubs 10",  # heard in a 1 s LibriVox card
    "Ask not, ask not, ask not.",
    "no no no no no",
    "What time is it? What time is it? What time is it?",
])
def test_loops_are_caught(text):
    assert repeats_itself(text)


@pytest.mark.parametrize("text", [
    "10 of close.",
    "What your country can do for you, ask what you can do for your country.",
    "No, no, no, I said Tuesday.",  # three times one word: speech, not a loop
    "Bye bye.",
    "I think, I think it is ten of clubs.",
    "",
])
def test_speech_is_left_alone(text):
    assert not repeats_itself(text)
