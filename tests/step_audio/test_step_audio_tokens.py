"""The dual-codebook token format: interleaving, `<audio_N>` text, LLM ids, streaming merge."""

from __future__ import annotations

import random

import numpy as np
import pytest

from speech.errors import SpeechError
from speech.step_audio.tokens import (
    AUDIO_TOKEN_COUNT, GROUP_SECONDS, AudioTokenRangeError, AudioTokenTextBuffer,
    MalformedAudioTokensError, StreamingInterleaver, from_llm_ids, interleave_codebooks,
    parse_audio_token_ids, parse_audio_tokens, render_audio_tokens, split_codebooks,
    strip_audio_tokens, to_llm_ids,
)


def test_interleave_is_two_linguistic_then_three_semantic_with_the_1024_offset():
    tokens = interleave_codebooks([1, 2, 3, 4], [10, 11, 12, 13, 14, 15])
    assert tokens == [1, 2, 1034, 1035, 1036, 3, 4, 1037, 1038, 1039]
    assert render_audio_tokens(tokens[:5]) == (
        "<audio_1><audio_2><audio_1034><audio_1035><audio_1036>")


def test_a_group_lasts_120_ms_so_a_second_is_about_41_7_tokens():
    assert GROUP_SECONDS == pytest.approx(0.12)
    assert 5 / GROUP_SECONDS == pytest.approx(41.67, abs=0.01)


@pytest.mark.parametrize("n_ling,n_sem,groups", [
    (5, 9, 2), (4, 8, 2), (2, 2, 0), (0, 9, 0), (7, 6, 2), (1, 3, 0),
])
def test_partial_groups_at_the_end_are_dropped(n_ling, n_sem, groups):
    tokens = interleave_codebooks(list(range(n_ling)), list(range(n_sem)))
    assert len(tokens) == groups * 5


def test_round_trip_through_text_and_llm_ids():
    rng = random.Random(3)
    ling = [rng.randrange(1024) for _ in range(40)]
    sem = [rng.randrange(4096) for _ in range(60)]
    ling[0], sem[0], ling[1], sem[1] = 0, 0, 1023, 4095  # both ends of both codebooks
    tokens = interleave_codebooks(ling, sem)
    text = render_audio_tokens(tokens)
    assert parse_audio_tokens(text) == tokens
    assert from_llm_ids(to_llm_ids(tokens)) == tokens
    assert to_llm_ids([0, 5119]) == [65536, 65536 + 5119]
    assert split_codebooks(parse_audio_tokens(text)) == (ling, sem)


def test_numpy_codes_are_accepted():
    tokens = interleave_codebooks(np.array([5, 6], dtype=np.int64), np.arange(3))
    assert tokens == [5, 6, 1024, 1025, 1026]


@pytest.mark.parametrize("ling,sem,match", [
    ([1024, 0], [0, 0, 0], "linguistic code #0 is 1024"),
    ([0, -1], [0, 0, 0], "linguistic code #1 is -1"),
    ([0, 0], [0, 4096, 0], "semantic code #1 is 4096"),
    ([0, 0.5], [0, 0, 0], "linguistic code #1"),
])
def test_out_of_range_codes_are_named_errors(ling, sem, match):
    with pytest.raises(AudioTokenRangeError, match=match):
        interleave_codebooks(ling, sem)


def test_errors_are_speech_errors_and_value_errors():
    with pytest.raises(SpeechError):
        render_audio_tokens([AUDIO_TOKEN_COUNT])
    with pytest.raises(ValueError):
        parse_audio_tokens("<audio_5120>")


@pytest.mark.parametrize("text,match", [
    ("<audio_1>hello<audio_2>", "found 'hello'"),
    ("<audio_1><audio_x>", "found '<audio_x>'"),
    ("<audio_1><audio_2", "found '<audio_2'"),
    ("audio_1", "found 'audio_1'"),
])
def test_malformed_token_text_is_a_named_error(text, match):
    with pytest.raises(MalformedAudioTokensError, match=match):
        parse_audio_tokens(text)


def test_whitespace_between_tokens_is_allowed_and_empty_text_is_no_tokens():
    assert parse_audio_tokens(" <audio_3>\n<audio_4> ") == [3, 4]
    assert parse_audio_tokens("") == []


@pytest.mark.parametrize("tokens,match", [
    ([1, 2, 1030, 1031], "not whole groups"),
    ([1, 1030, 1031, 1032, 1033], "position 1 of a group must be linguistic"),
    ([1, 2, 3, 1031, 1032], "position 2 of a group must be semantic"),
])
def test_split_rejects_tokens_out_of_group_order(tokens, match):
    with pytest.raises(MalformedAudioTokensError, match=match):
        split_codebooks(tokens)


def test_llm_ids_outside_the_audio_range_are_errors():
    with pytest.raises(AudioTokenRangeError, match="not an audio token id"):
        from_llm_ids([65535])
    with pytest.raises(AudioTokenRangeError):
        from_llm_ids([65536 + 5120])


def test_streaming_interleaver_matches_the_batch_interleave_whatever_the_arrival_order():
    rng = random.Random(7)
    ling = [rng.randrange(1024) for _ in range(30)]
    sem = [rng.randrange(4096) for _ in range(46)]  # 15 groups + 1 leftover semantic code
    merger = StreamingInterleaver()
    out: list[int] = []
    i = j = 0
    while i < len(ling) or j < len(sem):
        a, b = rng.randrange(0, 5), rng.randrange(0, 7)  # the pipelines run at their own pace
        out += merger.push(ling[i:i + a], sem[j:j + b])
        i, j = i + a, j + b
    assert out == interleave_codebooks(ling, sem)
    assert merger.emitted_groups == 15
    assert merger.pending == (0, 1)
    assert merger.finish() == (0, 1)
    assert merger.pending == (0, 0)


def test_streaming_interleaver_waits_for_the_slower_pipeline():
    merger = StreamingInterleaver()
    assert merger.push(linguistic=[1, 2, 3, 4]) == []
    assert merger.push(semantic=[0, 1]) == []
    assert merger.push(semantic=[2]) == [1, 2, 1024, 1025, 1026]
    assert merger.pending == (2, 0)
    with pytest.raises(AudioTokenRangeError):
        merger.push(semantic=[9999])


def test_text_buffer_reassembles_tokens_split_across_pieces():
    text = render_audio_tokens([1, 2, 1500, 1501, 5119])
    buffer = AudioTokenTextBuffer()
    got: list[int] = []
    for k in range(0, len(text), 4):
        got += buffer.feed(text[k:k + 4])
    assert got == [1, 2, 1500, 1501, 5119]
    assert buffer.leftover == ""
    buffer.feed("<audio_7")
    assert buffer.leftover == "<audio_7"


def test_step_audio_2_ids_parse_without_dual_codebook_limits_and_strip_keeps_text():
    assert parse_audio_token_ids("hi<audio_6560> <audio_0>") == [6560, 0]
    assert strip_audio_tokens("<audio_1><audio_2> what time is it?") == "what time is it?"


def test_codes_that_are_not_numbers_are_malformed():
    with pytest.raises(MalformedAudioTokensError, match="not a whole number"):
        interleave_codebooks(["a", 1], [0, 0, 0])
    with pytest.raises(MalformedAudioTokensError):
        render_audio_tokens([None])
