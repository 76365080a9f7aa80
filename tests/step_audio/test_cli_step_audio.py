"""`stepvox chat|doctor --model step-audio-2-mini --base-url ...` against the loopback vLLM
double: the Step-Audio backend replaces only the LLM; VAD, ASR and TTS stay embedded."""

from __future__ import annotations

import pytest
import soundfile as sf
from typer.testing import CliRunner
from vllm_loopback import Reply

from agent.cli.main import app

runner = CliRunner()


def test_doctor_passes_against_a_serving_step_audio_2_server(sa2_server):
    result = runner.invoke(app, ["doctor", "--model", "step-audio-2-mini",
                                 "--base-url", sa2_server.base_url])
    assert result.exit_code == 0, result.output
    assert "step-audio-2-mini served at" in result.output


def test_doctor_fails_when_nothing_listens(dead_url):
    result = runner.invoke(app, ["doctor", "--model", "step-audio-2-mini", "--base-url", dead_url])
    assert result.exit_code == 1
    assert "FAIL step-audio-2-mini" in result.output


def test_doctor_names_a_model_the_server_does_not_serve(sa2_server):
    result = runner.invoke(app, ["doctor", "--model", "step-audio-r1",
                                 "--base-url", sa2_server.base_url])
    assert result.exit_code == 1
    assert "not 'step-audio-r1'" in result.output


def test_http_backend_without_base_url_is_a_one_line_error():
    result = runner.invoke(app, ["chat", "--model", "step-audio-2-mini", "--text", "hi"])
    assert result.exit_code == 1
    assert "error: UnknownStepAudioModelError" in result.output and "--base-url" in result.output


@pytest.mark.embedded
def test_chat_speaks_the_step_audio_reply_with_the_embedded_voice(sa2_server, tmp_path):
    from embedded_gate import require_embedded

    require_embedded()
    sa2_server.state.replies.append(Reply(pieces=["Hello from ", "Step Audio."]))
    out = tmp_path / "reply.wav"
    result = runner.invoke(app, ["chat", "--model", "step-audio-2-mini", "--base-url",
                                 sa2_server.base_url, "--text", "Say hello.", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Hello from Step Audio." in result.output
    data, rate = sf.read(out)
    assert rate == 22050 and len(data) > rate // 2
    sent = [r for r in sa2_server.state.requests if r.get("messages")][-1]
    assert sent["messages"][-1]["role"] == "human"
    assert "Say hello." in str(sent["messages"][-1]["content"])


TOKENIZER_ENV = ("STEPVOX_TOKENIZER_DIR", "STEPVOX_STEP_AUDIO_CHECKOUT")


@pytest.fixture
def clean_tokenizer_env(monkeypatch):
    """--tokenizer-dir sets STEPVOX_TOKENIZER_DIR for the process; undo it after each test."""
    for name in TOKENIZER_ENV:
        monkeypatch.setenv(name, "placeholder")  # records the original value for teardown
        monkeypatch.delenv(name)
    return monkeypatch


def test_chat_tokenizer_dir_with_missing_files_fails_before_loading_models(
        chat_server, tmp_path, clean_tokenizer_env):
    result = runner.invoke(app, ["chat", "--model", "step-audio-chat", "--base-url",
                                 chat_server.base_url, "--tokenizer-dir", str(tmp_path),
                                 "--text", "hi"])
    assert result.exit_code == 1
    assert "error: TokenizerFilesMissingError" in result.output
    unwrapped = result.output.replace("\n", "")  # the console wraps long paths
    for name in ("linguistic_tokenizer.npy", "speech_tokenizer_v1.onnx", "dengcunqin/"):
        assert name in unwrapped


def test_doctor_checks_the_tokenizer_dir_and_the_checkout(chat_server, tmp_path,
                                                          clean_tokenizer_env):
    from tokenizer_stand_ins import (
        add_paraformer_files, make_step_audio_checkout, make_tokenizer_dir,
    )

    tokenizer_dir = make_tokenizer_dir(tmp_path)
    args = ["doctor", "--model", "step-audio-chat", "--base-url", chat_server.base_url,
            "--tokenizer-dir", str(tokenizer_dir)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    unwrapped = result.output.replace("\n", "")
    assert "dengcunqin" in unwrapped and "STEPVOX_STEP_AUDIO_CHECKOUT is not set" in unwrapped
    add_paraformer_files(tokenizer_dir)
    clean_tokenizer_env.setenv("STEPVOX_STEP_AUDIO_CHECKOUT",
                               str(make_step_audio_checkout(tmp_path / "Step-Audio")))
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "ok Step-Audio tokenizer at" in result.output
    assert "step-audio-chat served at" in result.output
