"""`stepvox history list | show | export | delete` against a temporary SQLite file."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from agent.cli.history import history_app
from memory import DialogueTurn, ToolCallRecord
from memory.sql_store import SqlDialogueStore

runner = CliRunner()


@pytest.fixture
def db(tmp_path) -> str:
    path = str(tmp_path / "cli.sqlite3")

    async def fill() -> None:
        async with SqlDialogueStore(path) as store:
            await store.start_conversation("conv-ann", user_id="ann", persona="joe")
            await store.append("conv-ann", [
                DialogueTurn(role="user", text="What time is it?"),
                DialogueTurn(role="assistant", text="One moment. It is 12 noon.",
                             preamble="One moment.", tool_calls=[ToolCallRecord(
                                 id="c1", name="get_date_time", arguments={"tz": "UTC"},
                                 result="12:00")]),
                DialogueTurn(role="user", text="Thanks"),
                DialogueTurn(role="assistant", text="You are", interrupted=True),
            ])
            await store.start_conversation("conv-bob", user_id="bob")
            await store.append("conv-bob", [DialogueTurn(role="user", text="Hello")])

    asyncio.run(fill())
    return path


def run(*args: str, env: dict | None = None, input: str | None = None):
    return runner.invoke(history_app, list(args), env=env, input=input)


def test_list(db):
    result = run("list", "--db", db)
    assert result.exit_code == 0, result.output
    assert "conv-ann" in result.output and "conv-bob" in result.output
    listed = json.loads(run("list", "--json", "--user", "ann", "--db", db).output)
    assert [(c["id"], c["turn_count"], c["persona"]) for c in listed] == [("conv-ann", 4, "joe")]


def test_database_comes_from_the_environment(db):
    result = run("list", "--json", env={"STEPVOX_DATABASE_URL": f"sqlite:///{db}"})
    assert result.exit_code == 0, result.output
    assert {c["id"] for c in json.loads(result.output)} == {"conv-ann", "conv-bob"}


def test_show(db):
    result = run("show", "conv-ann", "--db", db)
    assert result.exit_code == 0, result.output
    for expected in ("What time is it?", "get_date_time", "12:00", "(interrupted)", "You are"):
        assert expected in result.output


def test_export_json_and_markdown(db, tmp_path):
    result = run("export", "conv-ann", "--format", "json", "--db", db)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["conversation"]["user_id"] == "ann"
    assert [t["text"] for t in data["turns"]][:2] == ["What time is it?", "One moment. It is 12 noon."]
    assert data["turns"][1]["tool_calls"][0]["result"] == "12:00"

    out = tmp_path / "ann.md"
    result = run("export", "conv-ann", "--format", "md", "--out", str(out), "--db", db)
    assert result.exit_code == 0, result.output
    markdown = out.read_text()
    assert markdown.startswith("# Conversation conv-ann") and "get_date_time" in markdown
    assert run("export", "conv-ann", "--format", "xml", "--db", db).exit_code == 2


def test_unknown_conversation_is_one_line_and_exit_1(db):
    result = run("show", "nope", "--db", db)
    assert result.exit_code == 1
    assert "no conversation 'nope'" in result.output and "Traceback" not in result.output


def test_delete_user_asks_then_deletes(db):
    aborted = run("delete", "--user", "ann", "--db", db, input="n\n")
    assert aborted.exit_code == 1
    assert "conv-ann" in run("list", "--db", db).output

    result = run("delete", "--user", "ann", "--yes", "--db", db)
    assert result.exit_code == 0, result.output
    assert "1 conversations, 4 turns" in result.output
    remaining = json.loads(run("list", "--json", "--db", db).output)
    assert [c["id"] for c in remaining] == ["conv-bob"]


def test_unreachable_database_is_one_line_and_exit_1():
    result = run("list", "--db", "postgresql://nobody@127.0.0.1:9/none")
    assert result.exit_code == 1
    assert "unavailable" in result.output and "Traceback" not in result.output
