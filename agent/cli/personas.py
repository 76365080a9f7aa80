"""`stepvox personas list | show NAME | import FILE | export NAME --format ...`.

Register in `agent.cli.main` with `app.add_typer(personas_app, name="personas")`. The user's own
personas live in `--dir` (default: `STEPVOX_PERSONAS_DIR`, else `~/.config/stepvox/personas`
via platformdirs); they override built-ins of the same file name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from personas import PersonaError, PersonaLibrary, dump_persona
from personas.card_files import read_card
from personas.card_media import check_card_media, load_card_media, save_card_media
from personas.persona_import import export_persona, import_persona, is_card_file
from personas.persona_library import slug, user_persona_dir
from speech.style_tags import render_step_audio

personas_app = typer.Typer(help="The persona library: list, show, import and export personas "
                                "and character cards.", no_args_is_help=True)
DirOption = Annotated[Optional[Path], typer.Option(
    "--dir", help="Your persona folder (default: $STEPVOX_PERSONAS_DIR or the user config dir).")]


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(1)


@personas_app.command("list")
def list_personas(folder: DirOption = None) -> None:
    """List the personas: file key, name, language, default style."""
    library = PersonaLibrary(user_persona_dir(folder))
    table = Table("key", "name", "language", "default style", "greeting")
    try:
        for key, path in library.files().items():
            persona = library.get(key)
            table.add_row(key, persona.name, persona.language,
                          escape(render_step_audio(persona.default_style) or "-"),
                          escape(persona.greeting[:40]))
    except PersonaError as exc:
        raise _fail(str(exc)) from None
    Console().print(table)


@personas_app.command("show")
def show_persona(name: str, folder: DirOption = None,
                 prompt: Annotated[bool, typer.Option(
                     "--prompt", help="Print the assembled system prompt instead.")] = False
                 ) -> None:
    """Print a persona as YAML (or its assembled system prompt with --prompt)."""
    try:
        persona = PersonaLibrary(user_persona_dir(folder)).get(name)
    except PersonaError as exc:
        raise _fail(str(exc)) from None
    text = persona.full_system_prompt() if prompt else dump_persona(persona)
    typer.echo(text, nl=not text.endswith("\n"))  # plain: YAML must not be re-wrapped


@personas_app.command("import")
def import_file(file: Path, folder: DirOption = None,
                key: Annotated[Optional[str], typer.Option(
                    "--as", help="File key to save under (default: from the name).")] = None
                ) -> None:
    """Import a persona file or a character card (JSON, PNG, CHARX) into your folder."""
    try:
        persona = import_persona(file)
        loaded = read_card(file) if is_card_file(file) else None
        if loaded is not None:
            check_card_media(loaded)  # refuse a hostile card before anything is written
        path = PersonaLibrary(user_persona_dir(folder)).save(persona, key or slug(persona.name))
        media = save_card_media(path, loaded) if loaded is not None else None
    except PersonaError as exc:
        raise _fail(str(exc)) from None
    Console().print(f"imported {escape(persona.name)} -> {path}"
                    + (f" (picture and assets in {media})" if media else ""))


@personas_app.command("export")
def export_file(
    name: str,
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    fmt: Annotated[Optional[str], typer.Option(
        "--format", help="yaml, json, card-json, png or charx (default: from --out's suffix)."
    )] = None,
    spec: Annotated[str, typer.Option("--spec", help="Card spec: v2 or v3.")] = "v3",
    folder: DirOption = None,
) -> None:
    """Export a persona as a persona file or a Character Card V2/V3."""
    if fmt not in (None, "yaml", "json", "card-json", "png", "charx"):
        raise _fail(f"unknown --format {fmt!r}: use yaml, json, card-json, png or charx")
    try:
        library = PersonaLibrary(user_persona_dir(folder))
        persona = library.get(name)
        source = library.path_of(name)
        media = load_card_media(source) if source else None
        path = export_persona(persona, out, fmt, spec=spec,  # type: ignore[arg-type]
                              image=media.image if media else None,
                              assets=media.assets if media else None)
    except PersonaError as exc:
        raise _fail(str(exc)) from None
    Console().print(f"wrote {path}")
