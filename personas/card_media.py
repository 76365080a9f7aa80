"""The picture and assets of an imported character card, kept beside its persona file.

A persona file is text (YAML/JSON); a card's PNG picture and CHARX assets are not. On import
they go to a `<persona key>.card/` folder next to the persona file (`image.png`, `assets/...`),
and an export to PNG or CHARX puts them back, so a card survives import -> export whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from personas.card_files import LoadedCard
from personas.errors import CardFormatError


@dataclass
class CardMedia:
    image: bytes | None = None
    assets: dict[str, bytes] = field(default_factory=dict)


def media_folder(persona_file: Path) -> Path:
    return persona_file.with_suffix(".card")


def save_card_media(persona_file: Path, loaded: LoadedCard) -> Path | None:
    """Store the card's picture and assets; None when the card had neither."""
    if loaded.image is None and not loaded.assets:
        return None
    folder = media_folder(persona_file)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if loaded.image is not None:
            (folder / "image.png").write_bytes(loaded.image)
        for name, data in loaded.assets.items():
            target = folder / "assets" / _safe_member(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    except OSError as exc:
        # Names the file system refuses: `a` and `a/b` both (one file, one folder), a name
        # past 255 bytes; or a full disk.
        raise CardFormatError(f"cannot store the card's assets in {folder}: {exc}") from None
    return folder


def check_card_media(loaded: LoadedCard) -> None:
    """Raise `CardFormatError` for an asset name that would leave the media folder."""
    for name in loaded.assets:
        _safe_member(name)


def load_card_media(persona_file: Path) -> CardMedia:
    folder = media_folder(persona_file)
    media = CardMedia()
    if (folder / "image.png").is_file():
        media.image = (folder / "image.png").read_bytes()
    assets = folder / "assets"
    if assets.is_dir():
        for path in sorted(p for p in assets.rglob("*") if p.is_file()):
            media.assets[path.relative_to(assets).as_posix()] = path.read_bytes()
    return media


def _safe_member(name: str) -> Path:
    """A CHARX member name as a relative path that cannot leave the folder (zip slip)."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or any(p in ("..", "") for p in parts) or PurePosixPath(name).is_absolute():
        raise CardFormatError(f"card asset {name!r} has an unsafe path")
    return Path(*parts)
