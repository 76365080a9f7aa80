"""`stepvox personas import` keeps a card's picture and CHARX assets, and `export` puts them
back, so a card survives import -> export whole."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from agent.cli.main import app
from personas.card_files import read_card, write_card

runner = CliRunner()
SHARED_CARDS = Path(__file__).resolve().parents[2].parent / "shared/reference/character-cards"

CARD = {"spec": "chara_card_v3", "spec_version": "3.0", "data": {
    "name": "Tess", "description": "A lighthouse keeper.", "personality": "calm",
    "scenario": "", "first_mes": "Hello, {{user}}.", "mes_example": "",
    "creator_notes": "", "system_prompt": "", "post_history_instructions": "",
    "alternate_greetings": [], "tags": [], "creator": "", "character_version": "1",
    "extensions": {"someone.else": {"keep": True}}, "group_only_greetings": []}}


def _pixels(png: bytes) -> tuple:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return image.size, image.tobytes()


def test_png_card_picture_survives_import_and_export(tmp_path):
    source = SHARED_CARDS / "default_Seraphina.png"
    if not source.is_file():
        pytest.skip(f"example card not found at {source} (it ships in ../shared)")
    lib = tmp_path / "lib"
    result = runner.invoke(app, ["personas", "import", str(source), "--dir", str(lib)])
    assert result.exit_code == 0, result.output
    assert "picture and assets" in result.output
    out = tmp_path / "out.png"
    result = runner.invoke(app, ["personas", "export", "Seraphina", "--out", str(out),
                                 "--dir", str(lib)])
    assert result.exit_code == 0, result.output
    assert _pixels(read_card(out).image) == _pixels(source.read_bytes())


def test_charx_assets_survive_import_and_export(tmp_path):
    charx = write_card(CARD, tmp_path / "tess.charx",
                       assets={"assets/icon/main.png": b"\x89PNG fake", "x_notes.txt": b"hi"})
    lib = tmp_path / "lib"
    assert runner.invoke(app, ["personas", "import", str(charx), "--dir", str(lib)]).exit_code == 0
    out = tmp_path / "again.charx"
    result = runner.invoke(app, ["personas", "export", "Tess", "--out", str(out), "--dir", str(lib)])
    assert result.exit_code == 0, result.output
    again = read_card(out)
    assert again.assets == {"assets/icon/main.png": b"\x89PNG fake", "x_notes.txt": b"hi"}
    assert again.card["data"]["extensions"]["someone.else"] == {"keep": True}


def test_a_charx_member_escaping_the_folder_is_refused(tmp_path):
    """A CHARX whose asset is named '../../evil.txt' (zip slip) -> one-line error, nothing
    written outside the persona folder."""
    import json

    path = tmp_path / "evil.charx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("card.json", json.dumps(CARD))
        z.writestr("../../evil.txt", b"owned")
    lib = tmp_path / "a" / "b" / "lib"
    result = runner.invoke(app, ["personas", "import", str(path), "--dir", str(lib)])
    assert result.exit_code != 0
    assert not (tmp_path / "a" / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()
    assert not lib.exists() or not any(lib.iterdir())  # nothing half-imported
