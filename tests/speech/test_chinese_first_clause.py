"""The first chunk of a Chinese reply ends early at a full-width clause mark (，、：), as an
English one does at ", " after four words, so the Mandarin voice starts on the first clause
while the model is still writing the sentence (first clause synthesis ~200 ms)."""

from __future__ import annotations

from speech.sentences import SentenceSplitter


def _streamed(text: str, words: int | None = 4) -> list[str]:
    # One character at a time, as a model streams Chinese (about a character a token).
    splitter = SentenceSplitter(first_clause_words=words)
    return [s for ch in text for s in splitter.feed(ch)] + splitter.flush()


def test_a_chinese_first_clause_is_cut_at_the_full_width_comma():
    # Tried: 8 Han characters before "，" (4 words at 2 characters a word).
    assert _streamed("中国的首都是北京，它是一座历史悠久的城市。") == [
        "中国的首都是北京，", "它是一座历史悠久的城市。"]


def test_the_cut_comes_as_soon_as_the_comma_is_written():
    # No space follows a Chinese comma, so nothing after it is waited for.
    splitter = SentenceSplitter(first_clause_words=4)
    assert splitter.feed("大熊猫最爱吃竹子") == []
    assert splitter.feed("，") == ["大熊猫最爱吃竹子，"]


def test_enumeration_comma_and_colon_cut_too_but_only_the_first_chunk():
    assert _streamed("彩虹一般有七种颜色：红、橙、黄、绿、青、蓝、紫。后来，人们记住了它们。") == [
        "彩虹一般有七种颜色：", "红、橙、黄、绿、青、蓝、紫。", "后来，人们记住了它们。"]
    assert _streamed("四大发明是造纸术、印刷术、火药和指南针。") == [
        "四大发明是造纸术、", "印刷术、火药和指南针。"]


def test_a_short_chinese_clause_is_not_cut():
    # Tried: "好的，" (2 characters: one word) and "北京是首都，" (5: two words).
    assert _streamed("好的，北京。") == ["好的，北京。"]
    assert _streamed("北京是首都，很大。") == ["北京是首都，很大。"]


def test_without_first_clause_words_chinese_splits_at_sentences_only():
    assert _streamed("中国的首都是北京，它是一座历史悠久的城市。", None) == [
        "中国的首都是北京，它是一座历史悠久的城市。"]


def test_english_first_clauses_are_unchanged():
    assert _streamed("Sure, here is what I found, the moon is old.") == [
        "Sure, here is what I found,", "the moon is old."]
    assert _streamed("It costs 1,000 dollars today. Yes.") == [
        "It costs 1,000 dollars today.", "Yes."]


def test_mixed_script_counts_latin_words_and_han_characters():
    # "我们去 Starbucks 吧" is one Han word (3 characters), one Latin word and one character:
    # too short; the longer one passes.
    assert _streamed("我们去 Starbucks 吧，好吗？") == ["我们去 Starbucks 吧，好吗？"]
    assert _streamed("我们明天下午一起去 Starbucks 喝咖啡，好吗？") == [
        "我们明天下午一起去 Starbucks 喝咖啡，", "好吗？"]
