"""Whisper listening for Chinese gets a simplified-Chinese initial prompt, so it writes
simplified characters (Whisper base wrote traditional ones as often as simplified: 中國,
哪裡), and the model answering gets the script it works in. English decoding is unchanged."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from embedded_gate import require

require("faster_whisper")

from agent.models.store import model_store  # noqa: E402
from agent.setup.language_voices import whisper_listening_for  # noqa: E402
from agent.settings import StepvoxSettings  # noqa: E402
from speech.whisper.asr import WhisperSpeechTokenizer, initial_prompt_for  # noqa: E402


def test_only_chinese_gets_an_initial_prompt():
    assert initial_prompt_for("zh") == "以下是普通话的句子。"
    assert initial_prompt_for("zh-CN") == "以下是普通话的句子。"
    for language in ("en", None, "fr"):
        assert initial_prompt_for(language) is None


@pytest.fixture(scope="module")
def english_whisper():
    store = model_store(StepvoxSettings(), progress=False)
    return WhisperSpeechTokenizer(store.resolve("whisper-base"), language="en", cpu_threads=2)


def test_the_short_window_prompt_holds_the_chinese_sentence(english_whisper):
    tokenizer, prompt, _ = english_whisper._short_setup()
    assert prompt == [*tokenizer.sot_sequence, tokenizer.no_timestamps]  # English: as before
    chinese = whisper_listening_for(english_whisper, "zh")
    tokenizer_zh, prompt_zh, _ = chinese._short_setup()
    assert prompt_zh[0] == tokenizer_zh.sot_prev
    start = prompt_zh.index(tokenizer_zh.sot)
    assert tokenizer_zh.decode(prompt_zh[1:start]).strip() == "以下是普通话的句子。"
    assert prompt_zh[start:] == [*tokenizer_zh.sot_sequence, tokenizer_zh.no_timestamps]
    assert english_whisper._short_setup()[1] == prompt  # the shared model keeps English


def test_mandarin_speech_is_written_in_simplified_characters(english_whisper):
    require("ai_edge_litert", "pypinyin")
    require("opencc", extra="eval")
    import opencc

    from agent.setup.language_voices import mandarin_decoder
    from agent.models.errors import ModelUnavailableError
    from speech.audio import AudioClip

    try:
        voice = mandarin_decoder(model_store(StepvoxSettings(), progress=False))
    except ModelUnavailableError as exc:
        pytest.skip(str(exc))
    to_simplified = opencc.OpenCC("t2s")
    chinese = whisper_listening_for(english_whisper, "zh")
    # Tried: questions whose characters differ between the scripts (国/國, 哪里/哪裡, 这/這).
    # Without the initial prompt, Whisper base wrote both in traditional characters
    # ("中國的首都是哪個城市", "這個國家有多少人口?").
    async def speak(text: str) -> np.ndarray:
        return np.concatenate([c.samples async for c in voice.synthesize(text)])

    for question in ("中国的首都是哪个城市？", "这个国家有多少人口？"):
        samples = asyncio.run(speak(question))
        heard = chinese.transcribe_sync(AudioClip(samples, voice.sample_rate)).text
        assert heard and heard == to_simplified.convert(heard), heard
