"""The persona library: the built-in personas plus any folders of the user's own.

A persona is found by its file name without suffix (`skyway-agent`) or by its `name` (`Mia`,
`小跃`), case-insensitively. Later folders win, so a user can override a built-in persona by
saving a file of the same name in their own folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from personas.errors import PersonaNotFoundError
from personas.persona import Persona
from personas.persona_files import PersonaFormat, dump_persona, load_persona

BUILTIN_PERSONA_DIR = Path(__file__).resolve().parent / "library"
PERSONA_SUFFIXES = (".yaml", ".yml", ".json")


def user_persona_dir(folder: str | Path | None = None) -> Path:
    """The user's own persona folder: `folder`, else `$STEPVOX_PERSONAS_DIR`, else the user
    config dir (`~/.config/stepvox/personas` on Linux). `stepvox personas import` saves there."""
    if folder is not None:
        return Path(folder)
    if env := os.environ.get("STEPVOX_PERSONAS_DIR"):
        return Path(env)
    from platformdirs import user_config_dir

    return Path(user_config_dir("stepvox")) / "personas"


class PersonaLibrary:
    def __init__(self, *folders: str | Path, builtin: bool = True) -> None:
        self.folders = ([BUILTIN_PERSONA_DIR] if builtin else []) + [Path(f) for f in folders]

    @classmethod
    def for_user(cls, folder: str | Path | None = None) -> PersonaLibrary:
        """The built-ins plus the user's folder (`user_persona_dir`): what `stepvox personas
        list` shows is what `chat`, `say` and `serve` can speak as."""
        return cls(user_persona_dir(folder))

    def files(self) -> dict[str, Path]:
        """File key (name without suffix) -> path; later folders override earlier ones."""
        found: dict[str, Path] = {}
        for folder in self.folders:
            if folder.is_dir():
                for path in sorted(folder.iterdir()):
                    if path.suffix.lower() in PERSONA_SUFFIXES:
                        found[path.stem] = path
        return found

    def names(self) -> list[str]:
        return sorted(self.files())

    def path_of(self, name: str) -> Path | None:
        """The file a persona is read from (by key or by name), or None."""
        wanted = name.strip().lower()
        files = self.files()
        for key, path in files.items():
            if key.lower() == wanted:
                return path
        for path in files.values():
            if load_persona(path).name.lower() == wanted:
                return path
        return None

    def get(self, name: str) -> Persona:
        files = self.files()
        wanted = name.strip().lower()
        for key, path in files.items():
            if key.lower() == wanted:
                return load_persona(path)
        for path in files.values():
            persona = load_persona(path)
            if persona.name.lower() == wanted:
                return persona
        raise PersonaNotFoundError(
            f"no persona named {name!r}; the library has: {', '.join(files) or 'none'} "
            f"(folders: {', '.join(str(f) for f in self.folders)})")

    def save(self, persona: Persona, key: str | None = None, *,
             fmt: PersonaFormat = "yaml") -> Path:
        """Write `persona` into the last (the user's) folder as `key.yaml` and return the path."""
        if not self.folders or self.folders[-1] == BUILTIN_PERSONA_DIR:
            raise PersonaNotFoundError("this library has no user folder to save into")
        folder = self.folders[-1]
        folder.mkdir(parents=True, exist_ok=True)
        key = key or slug(persona.name)
        path = folder / f"{key}.{'json' if fmt == 'json' else 'yaml'}"
        path.write_text(dump_persona(persona, fmt), encoding="utf-8")
        return path


def slug(name: str) -> str:
    """A file name for a persona name: lower-case words joined by '-' (CJK kept as is)."""
    words = "".join(c if c.isalnum() else " " for c in name.lower()).split()
    return "-".join(words) or "persona"
