"""`stepvox tools ...`: list tools, call one by hand, index a folder of audio for timbre_rag.

A Typer sub-app the main CLI mounts with `app.add_typer(tools_app, name="tools")`, so the
tools package stays free of the agent. The registry it shows is what an agent would get:
the built-in tools (all StepEval tools with `--all`) plus installed plugins.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from tools.builtin.audio_library import AudioLibrary, index_audio_folder
from tools.plugins import load_plugins
from tools.registry import ToolRegistry

tools_app = typer.Typer(help="Tools: list them, call one, index audio for timbre_rag.", no_args_is_help=True)

AllOption = Annotated[bool, typer.Option("--all", help="All four built-in tools: also search, get_weather (network) and timbre_rag.")]
LibraryOption = Annotated[Optional[Path], typer.Option(
    "--audio-library", help="library.json for timbre_rag (made by `stepvox tools index-audio`).")]


def _registry(include_network: bool, audio_library: Path | None) -> ToolRegistry:
    # Imported here: `tools/__init__` imports this module's siblings, not this module.
    from tools import builtin_tools, make_timbre_rag, stepeval_tools

    from tools.builtin.audio_embeddings import minilm_embedder
    from tools.builtin.audio_library_files import builtin_audio_library

    # Meaning-based search when the packaged MiniLM is installed, keywords otherwise.
    # Without a library of the user's, timbre_rag searches the one stepvox ships (as an
    # agent's does), so `--all` lists all four built-in tools.
    if audio_library:
        library = AudioLibrary.load(audio_library, embedder=minilm_embedder())
    else:
        library = builtin_audio_library()
    if include_network:
        base = stepeval_tools(library)
    else:
        base = builtin_tools() + ([make_timbre_rag(library)] if audio_library else [])
    registry = ToolRegistry(base)
    report = load_plugins(registry)
    for error in report.errors:
        typer.secho(f"warning: {error}", fg=typer.colors.YELLOW, err=True)
    return registry


@tools_app.command("list")
def list_tools(
    include_network: AllOption = False,
    audio_library: LibraryOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the OpenAI tool schemas.")] = False,
) -> None:
    """List the tools an agent would offer the model."""
    registry = _registry(include_network, audio_library)
    if as_json:
        typer.echo(json.dumps(registry.openai_schemas(), ensure_ascii=False, indent=2))
        return
    for t in registry:
        flags = [f for f, on in (("needs approval", t.requires_approval), ("side effects", not t.safe_to_repeat)) if on]
        params = ", ".join(t.parameters_schema.get("properties", {}))
        typer.echo(f"{t.name}({params})" + (f"  [{'; '.join(flags)}]" if flags else "") + f"\n    {t.description}")


@tools_app.command("call")
def call_tool(
    name: Annotated[str, typer.Argument(help="Tool name, as in `stepvox tools list`.")],
    args: Annotated[str, typer.Option("--args", help="Arguments as a JSON object.")] = "{}",
    include_network: AllOption = False,
    audio_library: LibraryOption = None,
) -> None:
    """Call one tool and print its result as JSON (exit code 1 if it is an error)."""
    registry = _registry(include_network, audio_library)
    result = asyncio.run(registry.invoke(name, args))
    typer.echo(result.model_dump_json(indent=2))
    if result.is_error:
        raise typer.Exit(1)


@tools_app.command("index-audio")
def index_audio(
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Folder of WAV files.")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Where to write (default FOLDER/library.json).")] = None,
) -> None:
    """Index a folder of WAVs (NAME.txt transcripts, NAME.json descriptions) for timbre_rag."""
    library = index_audio_folder(folder)
    target = out or folder / "library.json"
    library.save(target)
    typer.echo(f"indexed {len(library.entries)} audio files into {target}")
