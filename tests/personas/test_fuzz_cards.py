"""Hostile character cards: each imports or is refused with a named `PersonaError`, and
nothing is written outside the persona folder. The fast subset of `bench/fuzz_realtime.py`."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from hostile_cards import CARD_STRATEGIES, HostileCard, files_outside, import_card, lying_zip, zip_bomb
from personas.card_files import MAX_CHARX_MEMBERS

_REFUSALS = {"imported", "CardFormatError", "CardFieldError", "CardSpecError",
             "CardTooLargeError", "PersonaFileError"}


def _import(tmp_path: Path, blob: bytes) -> str:
    root = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    folder = root / "personas"
    outcome = import_card(blob, folder)
    assert outcome in _REFUSALS
    assert files_outside(root, folder) == []
    return outcome


@pytest.mark.parametrize("kind", sorted(CARD_STRATEGIES))
def test_hostile_cards_import_or_are_refused_by_name(kind, tmp_path_factory):
    @settings(max_examples=150, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(CARD_STRATEGIES[kind])
    def check(card: HostileCard):
        _import(tmp_path_factory.mktemp(kind), card.blob)

    check()


def _charx(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("card.json", json.dumps({"name": "Zed", "first_mes": "Hi."}))
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


# -- the bugs the fuzzing found, each with the input that found it -------------------------

def test_card_json_nested_100000_deep_is_a_format_error(tmp_path):
    assert _import(tmp_path, b"[" * 100_000) == "CardFormatError"  # was RecursionError


def test_charx_with_a_corrupt_deflate_member_is_a_format_error(tmp_path):
    blob = bytearray(_charx({"asset.bin": b"hello " * 1_000}))
    at = blob.find(b"asset.bin") + len("asset.bin") + 10  # inside its deflate stream
    blob[at:at + 20] = b"\xff" * 20
    assert _import(tmp_path, bytes(blob)) == "CardFormatError"  # was zlib.error


def test_charx_naming_zip_version_7_8_is_a_format_error(tmp_path):
    blob = bytearray(_charx({}))
    central = blob.find(b"PK\x01\x02")
    blob[central + 6] = 78  # "version needed to extract": 7.8, past what zipfile reads
    assert _import(tmp_path, bytes(blob)) == "CardFormatError"  # was NotImplementedError


def test_charx_with_both_a_and_a_slash_b_is_a_format_error(tmp_path):
    # `a` is a file, then `a/b` needs `a` as a folder: was FileExistsError.
    assert _import(tmp_path, _charx({"a": b"1", "a/b": b"2"})) == "CardFormatError"


def test_charx_member_name_of_300_characters_is_a_format_error(tmp_path):
    assert _import(tmp_path, _charx({"x" * 300: b"1"})) == "CardFormatError"  # was OSError


def test_charx_of_20000_tiny_members_is_refused_before_any_file_is_written(tmp_path):
    # Was imported as 20,000 files.
    assert _import(tmp_path, zip_bomb(2**20, members=20_000)) == "CardTooLargeError"
    assert MAX_CHARX_MEMBERS < 20_000
    assert sum(1 for _ in tmp_path.rglob("*.bin")) == 0


def test_charx_unpacking_to_300_mib_is_too_large(tmp_path):
    assert _import(tmp_path, zip_bomb(300 * 2**20)) == "CardTooLargeError"


def test_charx_member_lying_about_its_size_is_a_format_error(tmp_path):
    assert _import(tmp_path, lying_zip(declared=10, actual=10_000_000)) == "CardFormatError"


@pytest.mark.parametrize("name", ["../evil.txt", "a/../../evil.txt", "/tmp/evil.txt",
                                  "..\\evil.txt", "assets/../../../evil.txt"])
def test_charx_member_escaping_the_folder_is_refused(tmp_path, name):
    assert _import(tmp_path, _charx({name: b"owned"})) == "CardFormatError"
    assert not list(tmp_path.rglob("evil.txt"))
