"""`speech.scoring.word_error_rate`: transcript normalisation (numbers, punctuation, case) and WER."""

from __future__ import annotations

import builtins

import pytest

from speech.scoring.word_error_rate import normalize_transcript, word_error_rate

pytest.importorskip("jiwer", reason="word_error_rate needs the eval extra: pip install 'stepvox[eval]'")
pytest.importorskip("num2words", reason="normalize_transcript needs the eval extra")


@pytest.mark.parametrize(("text", "expected"), [
    ("Hello,  WORLD!!", "hello world"),
    ("  spaced\tout\nwords  ", "spaced out words"),
    ("I have 3 cats", "i have three cats"),
    ("42", "forty two"),
    ("1,000,000 stars", "one million stars"),
    ("105 times", "one hundred five times"),
    ("3.5 kg", "three point five kg"),
    ("0.25", "zero point two five"),
    ("3.05", "three point zero five"),
    ("-4 degrees", "minus four degrees"),
    ("the 1st, 2nd, 3rd and 21st", "the first second third and twenty first"),
    ("at 8:13", "at eight thirteen"),
    ("at 8:05 PM", "at eight oh five pm"),
    ("at 12:00", "at twelve"),
    ("10:30:15", "ten thirty"),
    ("It is 8.14 a.m.", "it is eight fourteen am"),
    ("in 2026", "in twenty twenty six"),
    ("in 1999", "in nineteen ninety nine"),
    ("$5.50", "five dollars fifty cents"),
    ("$1", "one dollar"),
    ("50% off", "fifty percent off"),
    ("Mr. John Dashwood", "mister john dashwood"),
    ("cold-hearted", "cold hearted"),
    ("I'm sure it's fine, don't worry", "i'm sure it's fine don't worry"),
    ("I\u2019m here", "i'm here"),  # a typographic apostrophe is still a contraction
    ("'quoted' words", "quoted words"),
    ("Café naïve", "café naïve"),
    ("", ""),
    ("?!...", ""),
])
def test_normalize_transcript(text, expected):
    assert normalize_transcript(text) == expected


def test_normalize_is_idempotent():
    text = "It is 8:14 AM on Wednesday, November 25, 2026 (UTC). I'm 3.5 times happier!"
    once = normalize_transcript(text)
    assert normalize_transcript(once) == once


def test_normalize_other_language_uses_its_number_words():
    assert normalize_transcript("Er hat 3 Katzen.", "de") == "er hat drei katzen"
    assert normalize_transcript("Il a 12 chats", "fr") == "il a douze chats"


def test_normalize_unsupported_language_keeps_digits():
    # num2words has no Chinese; the digits stay rather than failing.
    assert normalize_transcript("我有 12 只猫。", "zh") == "我有 12 只猫"


def test_identical_texts_have_zero_wer():
    assert word_error_rate("ask not what your country can do", "ask not what your country can do") == 0.0


def test_digits_and_words_have_zero_wer():
    assert word_error_rate("I have three cats and twenty two dogs", "I have 3 cats and 22 dogs") == 0.0
    assert word_error_rate("It is 8:14 AM on November 25, 2026.",
                           "It is 8.14 a.m. on November 25, 2026") == 0.0
    assert word_error_rate("the twenty-first of May", "the 21st of May") == 0.0


def test_punctuation_and_case_are_ignored():
    assert word_error_rate("Hello, world! How are you?", "hello world how are you") == 0.0


def test_one_substitution_in_four_words():
    assert word_error_rate("the cat sat down", "the dog sat down") == pytest.approx(0.25)


def test_deletion_and_insertion_count():
    assert word_error_rate("the cat sat down", "the cat sat") == pytest.approx(0.25)
    assert word_error_rate("the cat sat down", "the cat sat down now") == pytest.approx(0.25)


def test_contraction_is_one_word():
    # "I'm" vs "I am": one substitution + one insertion against a 2-word reference.
    assert word_error_rate("I'm fine", "I'm fine") == 0.0
    assert word_error_rate("I'm fine", "I am fine") == pytest.approx(1.0)


def test_wer_can_exceed_one():
    assert word_error_rate("yes", "no no no") == pytest.approx(3.0)


def test_empty_reference():
    assert word_error_rate("", "") == 0.0
    assert word_error_rate("...", "  ") == 0.0  # both empty once normalised
    assert word_error_rate("", "something") == 1.0


def test_empty_hypothesis_is_all_deletions():
    assert word_error_rate("the cat sat down", "") == 1.0


def test_missing_eval_extra_names_the_install(monkeypatch):
    real_import = builtins.__import__

    def no_eval(name, *args, **kwargs):
        if name in ("jiwer", "num2words"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_eval)
    with pytest.raises(ImportError, match=r"pip install 'stepvox\[eval\]'"):
        normalize_transcript("42")
    with pytest.raises(ImportError, match=r"pip install 'stepvox\[eval\]'"):
        word_error_rate("a", "a")
