"""Every built-in persona, and an imported character card, through the real `stepvox` command.

Each test runs the installed console script in a child process, exactly as a user types it,
on the real embedded models (no fakes): `stepvox chat --persona K --text ...`, the same with
`--audio` (a question spoken by `stepvox say`), and the interactive REPL. A persona that
crashes on its first turn (the SkyWay desk once did: its prompt overflowed a 1,024-token
routing context) fails here, whatever the unit tests say.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from embedded_gate import require_embedded
from personas import PersonaLibrary

require_embedded()
pytestmark = pytest.mark.embedded

STEPVOX = shutil.which("stepvox", path=str(Path(sys.executable).parent)) or "stepvox"
BUILT_IN = sorted(PersonaLibrary().names())
CARDS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "character-cards"

# What a user of each persona would say first, in the persona's language.
FIRST_WORDS = {
    "skyway-agent": "I need to cancel my flight SKW123",
    "xiaoyue": "你好，你叫什么名字？",
}


def stepvox(*args: str, env: dict[str, str], stdin: str | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([STEPVOX, *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture()
def user_env(tmp_path) -> dict[str, str]:
    """A user's environment: their own history database and persona folder, the model cache
    the suite shares (joining the split models once is minutes, not a behaviour under test)."""
    env = dict(os.environ)
    env["STEPVOX_DATABASE_URL"] = f"sqlite:///{tmp_path / 'history.db'}"
    env["STEPVOX_PERSONAS_DIR"] = str(tmp_path / "personas")
    env["COLUMNS"] = "200"  # rich would wrap replies at 80 columns in a pipe
    return env


def reply_line(output: str, name: str) -> str:
    """The persona's reply as `stepvox chat` prints it: `NAME: text`."""
    lines = [line for line in output.splitlines() if line.startswith(f"{name}:")]
    assert lines, f"no reply from {name} in:\n{output}"
    return lines[-1].removeprefix(f"{name}:").strip()


def assert_spoken(path: Path) -> None:
    data, rate = sf.read(path)
    assert len(data) > rate // 4, f"{path} holds {len(data) / rate:.2f} s of audio"


def persona_name(key: str) -> str:
    return PersonaLibrary().get(key).name


@pytest.mark.parametrize("key", BUILT_IN)
def test_each_builtin_persona_answers_a_typed_turn(key, tmp_path, user_env):
    """`stepvox chat --persona K --text "..."`: exit 0, a spoken reply, no error line."""
    out = tmp_path / "reply.wav"
    words = FIRST_WORDS.get(key, "Hello! Who are you?")
    done = stepvox("chat", "--persona", key, "--text", words, "--out", str(out), env=user_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "error" not in (done.stdout + done.stderr).lower()
    assert reply_line(done.stdout, persona_name(key))
    assert_spoken(out)


def test_the_airline_desk_looks_the_booking_up(tmp_path, user_env):
    """The flagship desk on the request that once crashed it: it uses its booking tool (or
    asks for what the tool needs) instead of guessing."""
    done = stepvox("chat", "--persona", "skyway-agent", "--text",
                   "I need to cancel my flight SKW123", "--out", str(tmp_path / "r.wav"),
                   env=user_env)
    assert done.returncode == 0, done.stdout + done.stderr
    reply = reply_line(done.stdout, "Mia").lower()
    looked_up = "tool call" in done.stdout
    asks = any(w in reply for w in ("surname", "last name", "name", "confirm", "?"))
    assert looked_up or asks, done.stdout



def test_a_character_gets_a_fact_about_the_world_right(tmp_path, user_env):
    """Captain Bram's card cost the 0.5B the fact: "Argentina is the capital of Chile." A
    question about the world is answered from a plain prompt with his name
    (agent.honesty.world_questions), in his voice: "Argentina's capital is Buenos Aires." """
    done = stepvox("chat", "--persona", "captain-bram", "--text",
                   "What is the capital of Argentina?", "--out", str(tmp_path / "r.wav"),
                   env=user_env)
    assert done.returncode == 0, done.stdout + done.stderr
    reply = reply_line(done.stdout, "Captain Bram")
    assert "Buenos Aires" in reply and "Chile" not in reply, done.stdout
    assert_spoken(tmp_path / "r.wav")


@pytest.mark.parametrize("key", ["skyway-agent", "pip"])
def test_a_persona_answers_a_spoken_question(key, tmp_path, user_env):
    """`stepvox say` speaks the question, `stepvox chat --persona K --audio` answers it."""
    question = tmp_path / "question.wav"
    said = stepvox("say", "What time is it?", "--out", str(question), env=user_env)
    assert said.returncode == 0, said.stdout + said.stderr
    out = tmp_path / "reply.wav"
    done = stepvox("chat", "--persona", key, "--audio", str(question), "--out", str(out),
                   env=user_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "time" in done.stdout.lower()  # what was heard is printed
    assert reply_line(done.stdout, persona_name(key))
    assert_spoken(out)


def test_the_airline_desk_holds_an_interactive_session(tmp_path, user_env):
    """The REPL: greeting, two typed turns, /quit; each reply is written."""
    out_dir = tmp_path / "replies"
    done = stepvox("chat", "--persona", "skyway-agent", "--out-dir", str(out_dir),
                   env=user_env, stdin="How much is a second checked bag?\nThank you!\n/quit\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SkyWay" in done.stdout  # the greeting
    written = sorted(p.name for p in out_dir.glob("*.wav"))
    assert written == ["turn-000-greeting.wav", "turn-001.wav", "turn-002.wav"]


def test_an_imported_character_card_answers(tmp_path, user_env):
    """`stepvox personas import CARD`, then chat as that character."""
    card = CARDS / "Seraphina.chara.json"
    if not card.is_file():
        pytest.skip(f"character card {card} is absent (it ships in ../shared)")
    imported = stepvox("personas", "import", str(card), env=user_env)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    saved = next(Path(user_env["STEPVOX_PERSONAS_DIR"]).glob("*.yaml"))
    key = saved.stem  # the file's name is the persona's key
    listed = stepvox("personas", "list", env=user_env)
    assert key in listed.stdout
    done = stepvox("chat", "--persona", key, "--text", "Hello, where am I?",
                   "--out", str(tmp_path / "r.wav"), env=user_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert reply_line(done.stdout, "Seraphina")
