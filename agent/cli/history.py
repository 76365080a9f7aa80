"""`stepvox history ...`: list, show, export and delete stored conversations.

The database is `--db`, else STEPVOX_DATABASE_URL, else the SQLite file in the user data dir.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.cli.errors import exit_with
from agent.settings import StepvoxSettings
from memory.errors import MemoryStoreError
from memory.sql_store import SqlDialogueStore

history_app = typer.Typer(help="Stored conversations: list, show, export, delete.",
                          no_args_is_help=True)
console = Console()
err = Console(stderr=True)
T = TypeVar("T")

DbOption = Annotated[Optional[str], typer.Option(
    "--db", help="Database URL or SQLite file (default: STEPVOX_DATABASE_URL, else the "
    "user data dir).")]


class ExportFormat(str, Enum):
    json = "json"
    md = "md"


def _with_store(db: str | None, work: Callable[[SqlDialogueStore], Awaitable[T]]) -> T:
    """Run one store operation; a missing conversation or a database that is down is one red
    line and exit code 1, not a traceback."""
    async def run() -> T:
        async with SqlDialogueStore(db or StepvoxSettings().database_url) as store:
            return await work(store)

    try:
        return asyncio.run(run())
    except MemoryStoreError as exc:
        exit_with(err, str(exc))


@history_app.command("list")
def list_conversations(
    user: Annotated[Optional[str], typer.Option("--user", help="Only this user's.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    db: DbOption = None,
) -> None:
    """Conversations, newest first: id, user, persona, turns, start and end."""
    found = _with_store(db, lambda store: store.conversations(user_id=user, limit=limit))
    if as_json:
        console.print_json(json.dumps([c.model_dump(mode="json") for c in found]))
        return
    if not found:
        console.print("no conversations stored")
        return
    table = Table("id", "user", "persona", "turns", "started", "ended")
    for c in found:
        table.add_row(escape(c.id), escape(c.user_id or "-"), escape(c.persona or "-"),
                      str(c.turn_count), f"{c.started_at:%Y-%m-%d %H:%M}",
                      f"{c.ended_at:%Y-%m-%d %H:%M}" if c.ended_at else "-")
    console.print(table)


@history_app.command("show")
def show(
    conversation_id: Annotated[str, typer.Argument(help="A conversation id from `list`.")],
    db: DbOption = None,
) -> None:
    """Print a conversation's turns, with tool calls, interruptions and kept audio files."""
    exported = _with_store(db, lambda store: store.export(conversation_id))
    info = exported.conversation
    console.print(f"[bold]{escape(info.id)}[/]  user {escape(info.user_id or '-')}  "
                  f"persona {escape(info.persona or '-')}  {info.turn_count} turns")
    if exported.summary:
        console.print(f"[dim]summary (through turn {exported.summary.through_seq}):[/] "
                      f"{escape(exported.summary.text)}")
    for turn in exported.turns:
        colour = "cyan" if turn.role == "user" else "green"
        mark = " [yellow](interrupted)[/]" if turn.interrupted else ""
        console.print(f"[{colour}]{turn.role}[/]{mark}: {escape(turn.text)}")
        if turn.audio_path:
            # soft_wrap: a long path stays one line that can be copied.
            console.print(f"    [dim]audio:[/] {escape(turn.audio_path)}", soft_wrap=True)
        for call in turn.tool_calls:
            status = "[red]error[/]" if call.is_error else "ok"
            console.print(f"    tool {escape(call.name)}({escape(json.dumps(call.arguments))})"
                          f" -> {status}: {escape(call.result)}")


@history_app.command("export")
def export(
    conversation_id: Annotated[str, typer.Argument(help="A conversation id from `list`.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="json or md.")] = ExportFormat.json,
    out: Annotated[Optional[Path], typer.Option(
        "--out", help="Write to this file instead of standard output.")] = None,
    db: DbOption = None,
) -> None:
    """Write one conversation as JSON or Markdown."""
    exported = _with_store(db, lambda store: store.export(conversation_id))
    body = (exported.to_markdown() if fmt is ExportFormat.md
            else exported.model_dump_json(indent=2) + "\n")
    if out is None:
        typer.echo(body, nl=False)  # plain echo: rich would re-wrap and re-colour the text
        return
    out.write_text(body, encoding="utf-8")
    err.print(f"wrote {out}")


@history_app.command("delete")
def delete(
    user: Annotated[str, typer.Option("--user", help="Delete everything of this user.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    db: DbOption = None,
) -> None:
    """Delete every conversation, turn, tool call, summary, fact and audio file of a user."""
    if not yes:
        typer.confirm(f"Delete everything stored for user {user!r}?", abort=True)
    deleted = _with_store(db, lambda store: store.delete_user(user))
    console.print(f"deleted user {escape(user)}: {deleted.conversations} conversations, "
                  f"{deleted.turns} turns, {deleted.facts} facts, {deleted.files} audio files")
