"""Choosing a Step-Audio backend by name, and the `doctor` server check over loopback HTTP."""

from __future__ import annotations

import pytest

from agent.chat_model import ChatModel
from agent.backends.step_audio.step_audio2 import StepAudio2Model
from agent.backends.step_audio.backends import (
    UnknownStepAudioModelError, check_server, make_step_audio_model,
)
from agent.backends.step_audio.chat import StepAudioChatModel
from agent.backends.step_audio.stepfun_realtime import StepFunRealtimeModel


@pytest.mark.parametrize("name,cls", [
    ("step-audio-chat", StepAudioChatModel), ("step-audio-2-mini", StepAudio2Model),
    ("Step-Audio-R1.1", StepAudio2Model), ("stepfun-realtime", StepFunRealtimeModel),
])
def test_backends_by_name_are_chat_models(name, cls):
    model = make_step_audio_model(name, base_url="http://h:8000/v1")
    assert isinstance(model, cls) and isinstance(model, ChatModel)


def test_served_name_and_options_reach_the_settings():
    model = make_step_audio_model("step-audio-2-mini", base_url="http://h:8000/v1",
                                  served_name="sa2", speech_output=True, temperature=0.2)
    assert (model.settings.model, model.settings.speech_output, model.settings.temperature) == (
        "sa2", True, 0.2)


def test_unknown_name_or_missing_url_are_named_errors():
    with pytest.raises(UnknownStepAudioModelError, match="choose one of"):
        make_step_audio_model("gpt-4o", base_url="http://h/v1")
    with pytest.raises(UnknownStepAudioModelError, match="--base-url"):
        make_step_audio_model("step-audio-chat")


async def test_doctor_passes_on_a_good_server(sa2_server, chat_server):
    check = await check_server(StepAudio2Model(base_url=sa2_server.base_url))
    assert check.ok and check.served_models == ["step-audio-2-mini"]
    assert (await check_server(StepAudioChatModel(base_url=chat_server.base_url))).ok


async def test_doctor_reports_wrong_model_missing_tool_parser_and_down_server(sa2_server, dead_url):
    check = await check_server(StepAudio2Model(base_url=sa2_server.base_url, model="other"))
    assert not check.ok and "not 'other'" in check.problems[0]
    sa2_server.state.auto_tools = False
    check = await check_server(StepAudio2Model(base_url=sa2_server.base_url))
    assert "--tool-call-parser step_audio_2" in check.problems[0]
    check = await check_server(StepAudio2Model(base_url=dead_url))
    assert "No server answered" in check.problems[0]


def test_accepts_audio_tells_the_agent_which_backends_take_a_clip():
    assert make_step_audio_model("step-audio-2-mini", base_url="http://h/v1").accepts_audio
    assert make_step_audio_model("stepfun-realtime").accepts_audio
    assert not make_step_audio_model("step-audio-chat", base_url="http://h/v1").accepts_audio
    with_tokenizer = make_step_audio_model("step-audio-chat", base_url="http://h/v1",
                                           tokenizer=object())
    assert with_tokenizer.accepts_audio


def test_step_audio_chat_gets_the_tokenizer_of_the_configured_dir(tmp_path, monkeypatch):
    import sys

    from speech.step_audio.tokenizer import StepAudioTokenizer
    from tokenizer_stand_ins import (
        add_paraformer_files, make_step_audio_checkout, make_tokenizer_dir,
    )

    monkeypatch.setattr(sys, "path", list(sys.path))
    tokenizer_dir = make_tokenizer_dir(tmp_path)
    add_paraformer_files(tokenizer_dir)
    monkeypatch.setenv("STEPVOX_TOKENIZER_DIR", str(tokenizer_dir))
    monkeypatch.setenv("STEPVOX_STEP_AUDIO_CHECKOUT",
                       str(make_step_audio_checkout(tmp_path / "Step-Audio")))
    try:
        model = make_step_audio_model("step-audio-chat", base_url="http://h/v1")
    finally:
        sys.modules.pop("funasr_detach", None)
    assert isinstance(model.tokenizer, StepAudioTokenizer) and model.accepts_audio
    # tokenizer=None keeps a model without audio tokens (what doctor builds)
    bare = make_step_audio_model("step-audio-chat", base_url="http://h/v1", tokenizer=None)
    assert not bare.accepts_audio

