"""Character card files: JSON, PNG (tEXt `ccv3` / `chara`, base64 JSON) and CHARX (zip).

    card = read_card("Seraphina.png")           # -> LoadedCard(card, image, assets)
    persona = card_to_persona(card.card)
    write_card(persona_to_card(persona), "out.charx", assets=card.assets)

Limits guard against hostile files: a card file over `MAX_CARD_BYTES`, an image over
`MAX_IMAGE_PIXELS`, or a CHARX whose members unpack to more than `MAX_CHARX_UNPACKED_BYTES`
or holds more than `MAX_CHARX_MEMBERS` members is refused with `CardTooLargeError`.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from personas.errors import CardFormatError, CardTooLargeError

MAX_CARD_BYTES = 32 * 1024 * 1024
MAX_IMAGE_PIXELS = 4096 * 4096
MAX_CHARX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_CHARX_MEMBERS = 1_000  # each becomes a file on import: a zip of 20,000 tiny ones is a bomb too
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class LoadedCard:
    card: dict[str, Any]
    image: bytes | None = None  # the PNG a card came in, for writing it back
    assets: dict[str, bytes] = field(default_factory=dict)  # CHARX members other than card.json


def read_card(path: str | Path) -> LoadedCard:
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CardFormatError(f"cannot read card file {path}: {exc}") from exc
    if size > MAX_CARD_BYTES:
        raise CardTooLargeError(f"{path} is {size / 2**20:.1f} MiB; cards over "
                                f"{MAX_CARD_BYTES / 2**20:.0f} MiB are refused")
    return read_card_bytes(path.read_bytes(), source=str(path))


def read_card_bytes(blob: bytes, *, source: str = "<card>") -> LoadedCard:
    if len(blob) > MAX_CARD_BYTES:
        raise CardTooLargeError(f"{source}: {len(blob)} bytes is over the card size limit")
    if blob.startswith(_PNG_MAGIC):
        return LoadedCard(_card_from_png(blob, source), image=blob)
    if blob.startswith(b"PK"):
        card, assets = _card_from_charx(blob, source)
        return LoadedCard(card, assets=assets)
    return LoadedCard(_parse_json(blob, source))


def write_card(card: dict[str, Any], path: str | Path, *, image: bytes | None = None,
               assets: dict[str, bytes] | None = None) -> Path:
    """Write by suffix: `.json`, `.png` (a V3 card in the `ccv3` chunk, a V2 card in `chara`),
    `.charx` (card.json + assets)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        path.write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
    elif suffix == ".png":
        path.write_bytes(card_png_bytes(card, image))
    elif suffix == ".charx":
        path.write_bytes(charx_bytes(card, assets or {}))
    else:
        raise CardFormatError(f"cannot write a card as {suffix!r}: use .json, .png or .charx")
    return path


def card_png_bytes(card: dict[str, Any], image: bytes | None = None) -> bytes:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    picture = _open_image(image, "<image>") if image else Image.new("RGB", (400, 600),
                                                                   (72, 61, 139))
    info = PngInfo()
    encoded = base64.b64encode(json.dumps(card, ensure_ascii=False).encode()).decode("ascii")
    info.add_text("chara" if card.get("spec") != "chara_card_v3" else "ccv3", encoded)
    out = io.BytesIO()
    picture.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def charx_bytes(card: dict[str, Any], assets: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("card.json", json.dumps(card, ensure_ascii=False, indent=2))
        for name, data in assets.items():
            archive.writestr(name, data)
    return out.getvalue()


def _parse_json(blob: bytes, source: str) -> dict[str, Any]:
    try:
        card = json.loads(blob.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError: bad JSON, or a number past 4300 digits; RecursionError: `[[[[...`.
        raise CardFormatError(f"{source}: not a card: the file is neither PNG, CHARX nor "
                              f"JSON this reader takes ({type(exc).__name__}: "
                              f"{str(exc)[:200]})") from None
    if not isinstance(card, dict):
        raise CardFormatError(f"{source}: a card is a JSON object, not a {type(card).__name__}")
    return card


def _open_image(blob: bytes, source: str):
    from PIL import Image

    try:
        picture = Image.open(io.BytesIO(blob))
        width, height = picture.size
    except Image.DecompressionBombError as exc:
        raise CardTooLargeError(f"{source}: {exc}") from None
    except Exception as exc:  # pillow raises many types for broken files
        raise CardFormatError(f"{source}: broken PNG image ({exc})") from None
    if width * height > MAX_IMAGE_PIXELS:
        raise CardTooLargeError(f"{source}: image of {width}x{height} pixels is over the "
                                f"{MAX_IMAGE_PIXELS} pixel limit")
    return picture


def _card_from_png(blob: bytes, source: str) -> dict[str, Any]:
    picture = _open_image(blob, source)
    try:
        picture.load()  # text chunks after the image data are only read by load()
    except Exception as exc:
        raise CardFormatError(f"{source}: broken PNG image ({exc})") from None
    chunks = {k.lower(): v for k, v in getattr(picture, "text", {}).items()}
    key = "ccv3" if "ccv3" in chunks else "chara" if "chara" in chunks else None
    if key is None:
        raise CardFormatError(f"{source}: this PNG holds no character card (no 'ccv3' or "
                              "'chara' text chunk)")
    try:
        raw = base64.b64decode(chunks[key], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CardFormatError(f"{source}: the '{key}' chunk is not valid base64 ({exc})") from None
    return _parse_json(raw, f"{source} ({key} chunk)")


def _card_from_charx(blob: bytes, source: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
    # A directory entry may name a zip version past what zipfile reads (NotImplementedError)
    # or flag a UTF-8 name that is not UTF-8 (UnicodeDecodeError).
    except (zipfile.BadZipFile, NotImplementedError, UnicodeDecodeError) as exc:
        raise CardFormatError(f"{source}: not a valid CHARX zip ({exc})") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_CHARX_MEMBERS:
            raise CardTooLargeError(f"{source}: the CHARX holds {len(members)} members; at "
                                    f"most {MAX_CHARX_MEMBERS} are taken")
        if sum(m.file_size for m in members) > MAX_CHARX_UNPACKED_BYTES:
            raise CardTooLargeError(f"{source}: the CHARX unpacks to more than "
                                    f"{MAX_CHARX_UNPACKED_BYTES / 2**20:.0f} MiB")
        if "card.json" not in archive.namelist():
            raise CardFormatError(f"{source}: a CHARX needs card.json at the root of the zip")
        try:
            card = _parse_json(archive.read("card.json"), f"{source} (card.json)")
            assets = {m.filename: archive.read(m) for m in members
                      if m.filename != "card.json" and not m.is_dir()}
        # Encrypted (RuntimeError), corrupt (BadZipFile, zlib.error, EOFError, a local
        # header's name not UTF-8) or packed with a method this zipfile does not read.
        except (RuntimeError, zipfile.BadZipFile, zlib.error, EOFError, UnicodeDecodeError,
                NotImplementedError) as exc:
            raise CardFormatError(f"{source}: cannot read the CHARX: {exc}") from None
    return card, assets
