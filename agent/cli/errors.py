"""Which exceptions are the user's to fix (shown as one line) and how the CLI exits on them."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from agent.errors import AgentError
from agent.models.errors import ModelError
from memory.errors import MemoryStoreError
from personas import PersonaError
from speech.errors import SpeechError
from tools.errors import ToolError

USER_ERRORS: tuple[type[BaseException], ...] = (
    SpeechError, AgentError, ModelError, ToolError, MemoryStoreError, PersonaError,
    FileNotFoundError,
    PermissionError,
)


def exit_with(console: Console, message: str, code: int = 1) -> NoReturn:
    console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)
