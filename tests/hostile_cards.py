"""Hypothesis strategies for hostile character cards (JSON, PNG, CHARX), and `import_card`,
which runs one through the same steps as `stepvox personas import` into a folder.

A card must import, or fail with a `PersonaError` subclass (a named error the CLI shows);
nothing may be written outside the persona's folder. Shared by
`tests/personas/test_fuzz_cards.py` and `bench/fuzz_realtime.py`.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from hostile_events import json_values
from personas import PersonaError, PersonaLibrary
from personas.card_files import read_card_bytes
from personas.card_media import check_card_media, save_card_media
from personas.character_card import card_to_persona


@dataclass(frozen=True)
class HostileCard:
    kind: str
    blob: bytes


def import_card(blob: bytes, folder: Path) -> str:
    """'imported', or the name of the `PersonaError` it was refused with. Any other
    exception propagates: that is a bug."""
    try:
        loaded = read_card_bytes(blob, source="fuzz-card")
        persona = card_to_persona(loaded.card)
        check_card_media(loaded)
        path = PersonaLibrary(folder, builtin=False).save(persona, "fuzzed")
        save_card_media(path, loaded)
    except PersonaError as exc:
        return type(exc).__name__
    return "imported"


def files_outside(root: Path, allowed: Path) -> list[Path]:
    """Files under `root` that are not under `allowed` (what an import must never write)."""
    allowed = allowed.resolve()
    return [p for p in root.rglob("*") if (p.is_file() or p.is_symlink())
            and allowed not in p.resolve().parents]


_CARD_FIELDS = ["name", "description", "personality", "scenario", "first_mes", "mes_example",
                "creator_notes", "system_prompt", "post_history_instructions",
                "alternate_greetings", "tags", "creator", "character_version", "extensions",
                "character_book", "group_only_greetings", "nickname"]


@st.composite
def card_objects(draw) -> dict:
    """A card-shaped JSON object whose fields may hold anything."""
    data = {"name": "Fuzz", "first_mes": "Hello."}
    for key in draw(st.lists(st.sampled_from(_CARD_FIELDS), max_size=6)):
        data[key] = draw(json_values)
    spec = draw(st.sampled_from(["chara_card_v2", "chara_card_v3", None, "chara_card_v9"]))
    return {"spec": spec, "spec_version": draw(json_values), "data": data} if spec else data


def _json_card(card) -> bytes:
    return json.dumps(card, allow_nan=True).encode()


json_cards = st.one_of(
    card_objects().map(_json_card),
    json_values.map(_json_card),
    st.integers(1_000, 100_000).map(lambda n: b"[" * n),
    st.binary(max_size=300).filter(lambda b: not b.startswith((b"\x89PNG", b"PK"))),
).map(lambda b: HostileCard("card_json", b))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def _png(width: int, height: int, chunks: list[bytes]) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + b"\x00\x00\x00" * min(width, 4)
    body = zlib.compress(row * min(height, 4))
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + b"".join(chunks)
            + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b""))


@st.composite
def png_cards(draw) -> HostileCard:
    key = draw(st.sampled_from([b"chara", b"ccv3", b"Chara", b"other"]))
    payload = draw(st.one_of(
        card_objects().map(lambda c: base64.b64encode(_json_card(c))),
        st.binary(max_size=200),  # not base64
        st.binary(max_size=200).map(base64.b64encode),  # base64, not JSON
    ))
    width, height = draw(st.sampled_from([(4, 4), (1, 1), (100_000, 100_000), (0, 0),
                                          (5_000, 5_000)]))
    blob = _png(width, height, [_png_chunk(b"tEXt", key + b"\x00" + payload)])
    if draw(st.booleans()):  # cut, or flip a byte somewhere
        at = draw(st.integers(8, len(blob) - 1))
        blob = blob[:at] if draw(st.booleans()) else blob[:at] + bytes([blob[at] ^ 0xFF]) + blob[at + 1:]
    return HostileCard("card_png", blob)


_HOSTILE_NAMES = ["../evil.txt", "../../evil.txt", "/tmp/evil.txt", "a/../../evil.txt",
                  "..\\evil.txt", "assets/../../../evil.txt", "./ok.txt", "a", "a/b", "x" * 300,
                  "dir/", "C:/evil.txt", "\u202eevil", "ok/é.png", ".", ".."]


@st.composite
def charx_cards(draw) -> HostileCard:
    members = draw(st.lists(st.tuples(st.sampled_from(_HOSTILE_NAMES) | st.text(max_size=30),
                                      st.binary(max_size=64)), max_size=5))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if draw(st.integers(0, 9)):  # one in ten has no card.json
            archive.writestr("card.json", _json_card(draw(card_objects())))
        for name, data in members:
            with warnings.catch_warnings():  # duplicate names are part of the test
                warnings.simplefilter("ignore")
                try:
                    archive.writestr(name, data)
                except (IndexError, ValueError):  # names zipfile itself cannot write ("", "/")
                    pass
    blob = out.getvalue()
    if draw(st.integers(0, 3)) == 0:  # corrupt a byte of member data
        at = draw(st.integers(min(30, len(blob) - 1), len(blob) - 1))
        blob = blob[:at] + bytes([blob[at] ^ 0x5A]) + blob[at + 1:]
    return HostileCard("card_charx", blob)


def zip_bomb(unpacked_bytes: int, members: int = 1) -> bytes:
    """Zeros that deflate ~1000:1: `members` members of `unpacked_bytes` / `members` each."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("card.json", json.dumps({"name": "Bomb", "first_mes": "Hi."}))
        chunk = b"\x00" * (unpacked_bytes // members)
        for i in range(members):
            archive.writestr(f"bomb/{i}.bin", chunk)
    return out.getvalue()


def lying_zip(declared: int = 10, actual: int = 10_000_000) -> bytes:
    """A member whose headers say `declared` bytes but whose data inflates to `actual`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("card.json", json.dumps({"name": "Liar", "first_mes": "Hi."}))
        archive.writestr("liar.bin", b"\x00" * actual)
    blob = bytearray(out.getvalue())
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = blob.find(sig, blob.find(b"liar.bin") - 60 if sig == b"PK\x03\x04" else 0)
        while at != -1:
            name_len = struct.unpack("<H", blob[at + (26 if sig == b"PK\x03\x04" else 28):][:2])[0]
            start = at + (30 if sig == b"PK\x03\x04" else 46)
            if blob[start:start + name_len] == b"liar.bin":
                blob[at + offset:at + offset + 4] = struct.pack("<I", declared)
            at = blob.find(sig, at + 4)
    return bytes(blob)


CARD_STRATEGIES = {"card_json": json_cards, "card_png": png_cards(), "card_charx": charx_cards()}
