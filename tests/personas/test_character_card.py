"""Character Card V2/V3 import and export: JSON, PNG and CHARX; round trips; malformed cards."""

from __future__ import annotations

import base64
import copy
import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from personas import (
    CardFieldError, CardFormatError, CardSpecError, CardTooLargeError, Persona, PersonaLibrary,
)
from personas.card_files import read_card, read_card_bytes, write_card
from personas.character_card import card_to_persona, persona_to_card
from personas.persona_import import export_persona, import_persona
from speech.style import Emotion, Style

CARDS = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "character-cards"
needs_shared = pytest.mark.skipif(
    not CARDS.is_dir(), reason=f"needs the reference cards in {CARDS} (../shared is absent)")

V3_CARD = {
    "spec": "chara_card_v3", "spec_version": "3.0",
    "data": {
        "name": "Odo", "nickname": "Odo the Owl", "description": "{{char}} is a night owl.",
        "personality": "sleepy", "scenario": "{{user}} visits {{char}} at dusk.",
        "first_mes": "Hoo... hello, {{user}}.", "alternate_greetings": ["Who goes there?"],
        "mes_example": ("<START>\n{{user}}: Hi\n{{char}}: Hoo.\n"
                        "<START>\n{{user}}: Bye\n{{char}}: Hoo hoo.\n"),
        "system_prompt": "", "post_history_instructions": "", "creator_notes": "test card",
        "tags": ["owl"], "creator": "tests", "character_version": "1",
        "group_only_greetings": [], "assets": [{"type": "icon", "uri": "ccdefault:",
                                                "name": "main", "ext": "png"}],
        "extensions": {"some_app": {"colour": "blue", "nested": [1, None, {"x": True}]}},
        "character_book": {
            "name": "owl lore", "scan_depth": 2, "extensions": {},
            "future_field": "kept",
            "entries": [
                {"keys": ["moon"], "content": "{{char}} worships the moon.", "extensions": {},
                 "enabled": True, "insertion_order": 2, "use_regex": False, "id": 7},
                {"keys": ["mouse", "mice"], "content": "{{char}} hunts mice.",
                 "extensions": {"probability": 100}, "enabled": True, "insertion_order": 1,
                 "use_regex": False, "case_sensitive": False},
            ],
        },
    },
    "x_unknown_top_level": {"kept": True},
}


def test_v3_card_imports_into_a_persona():
    persona = card_to_persona(copy.deepcopy(V3_CARD))
    assert persona.name == "Odo" and persona.greeting == "Hoo... hello, {{user}}."
    assert persona.greetings == ["Hoo... hello, {{user}}.", "Who goes there?"]
    assert persona.example_dialogues == ["{{user}}: Hi\n{{char}}: Hoo.",
                                         "{{user}}: Bye\n{{char}}: Hoo hoo."]
    assert persona.extensions["some_app"]["colour"] == "blue"
    assert persona.greeting_text(0, user_name="Ann") == "Hoo... hello, Ann."
    assert persona.greeting_text(1) == "Who goes there?"
    prompt = persona.full_system_prompt(["I saw a mouse", "and the moon"], user_name="Ann")
    assert "Ann visits Odo at dusk." in prompt and "{{" not in prompt
    # lore in insertion order: mice (1) before moon (2)
    assert prompt.index("Odo hunts mice.") < prompt.index("Odo worships the moon.")
    # scan depth 2: the mouse three messages back no longer fires
    assert "hunts mice" not in persona.full_system_prompt(["a mouse", "b", "c"])


@pytest.mark.parametrize("spec", ["chara_card_v3", "chara_card_v2"])
def test_round_trip_keeps_every_field_including_unknown_extensions(spec):
    card = copy.deepcopy(V3_CARD)
    card["spec"] = spec
    assert persona_to_card(card_to_persona(card), spec) == card


@pytest.mark.parametrize("suffix", [".json", ".png", ".charx"])
def test_file_round_trip_in_every_container(tmp_path, suffix):
    assets = {"assets/icon/images/main.png": b"\x89PNG fake"} if suffix == ".charx" else None
    path = write_card(V3_CARD, tmp_path / f"odo{suffix}", assets=assets)
    loaded = read_card(path)
    assert loaded.card == V3_CARD
    if assets:
        assert loaded.assets == assets
    assert persona_to_card(card_to_persona(loaded.card)) == V3_CARD


def test_stepvox_fields_travel_inside_the_card(tmp_path):
    persona = Persona(name="Pip", system_prompt="You are Pip.", voice="en_US-joe-medium",
                      default_style=Style(emotion=Emotion.HAPPY, speed=1),
                      style_tags=["happy"], allowed_tools=["get_weather"])
    path = export_persona(persona, tmp_path / "pip.png")
    again = import_persona(path)
    assert again.model_dump(exclude={"extensions"}) == persona.model_dump(exclude={"extensions"})
    card = read_card(path).card
    assert card["spec"] == "chara_card_v3" and card["data"]["extensions"]["stepvox"]


def test_builtin_persona_exports_as_v2_and_v3_and_imports_back(tmp_path):
    mia = PersonaLibrary().get("skyway-agent")
    for spec in ("v2", "v3"):
        path = export_persona(mia, tmp_path / f"mia-{spec}.charx", spec=spec)
        back = import_persona(path)
        assert back.lore == mia.lore and back.default_style == mia.default_style
        assert back.full_system_prompt(["my dog"]) == mia.full_system_prompt(["my dog"])


def test_import_dispatches_persona_files_and_card_json(tmp_path):
    (tmp_path / "p.json").write_text('{"name": "A", "system_prompt": "x"}')
    (tmp_path / "c.json").write_text(json.dumps(V3_CARD))
    assert import_persona(tmp_path / "p.json").name == "A"
    assert import_persona(tmp_path / "c.json").name == "Odo"


def png_with_chunk(key, value):
    info = PngInfo()
    info.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def b64(obj):
    return base64.b64encode(json.dumps(obj).encode()).decode()


def test_png_prefers_ccv3_over_chara():
    info = PngInfo()
    v2 = copy.deepcopy(V3_CARD) | {"spec": "chara_card_v2"}
    info.add_text("chara", b64(v2 | {"data": v2["data"] | {"name": "Old"}}))
    info.add_text("ccv3", b64(V3_CARD))
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="PNG", pnginfo=info)
    assert read_card_bytes(out.getvalue()).card["data"]["name"] == "Odo"


@pytest.mark.parametrize("blob, error, match", [
    (b"not json at all", CardFormatError, "neither PNG"),
    (b"[1, 2]", CardFormatError, "JSON object"),
    (png_with_chunk("chara", "%%% not base64 %%%"), CardFormatError, "base64"),
    (png_with_chunk("Comment", "hi"), CardFormatError, "no character card"),
    (b"\x89PNG\r\n\x1a\ngarbage", CardFormatError, "broken PNG"),
    (b"PK\x03\x04broken", CardFormatError, "CHARX"),
])
def test_malformed_files_raise_named_errors(blob, error, match):
    with pytest.raises(error, match=match):
        read_card_bytes(blob)


def test_charx_without_card_json_and_oversized_images(monkeypatch):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("other.json", "{}")
    with pytest.raises(CardFormatError, match="card.json"):
        read_card_bytes(out.getvalue())
    monkeypatch.setattr("personas.card_files.MAX_IMAGE_PIXELS", 10)
    with pytest.raises(CardTooLargeError, match="pixel"):
        read_card_bytes(png_with_chunk("chara", b64(V3_CARD)))
    monkeypatch.setattr("personas.card_files.MAX_CARD_BYTES", 10)
    with pytest.raises(CardTooLargeError):
        read_card_bytes(b"x" * 11)


@pytest.mark.parametrize("card, error, match", [
    ({"spec": "chara_card_v9", "data": {}}, CardSpecError, "unsupported card spec"),
    ({"hello": "world"}, CardSpecError, "unsupported"),
    ({"spec": "chara_card_v3"}, CardFieldError, "data"),
    ({"spec": "chara_card_v3", "data": {"description": "x"}}, CardFieldError, "name"),
    ({"spec": "chara_card_v2", "data": {"name": "A", "first_mes": 3}}, CardFieldError,
     "first_mes"),
    ({"spec": "chara_card_v2", "data": {"name": "A", "tags": "a,b"}}, CardFieldError, "tags"),
    ({"spec": "chara_card_v2", "data": {"name": "A", "character_book": {"entries": [{}]}}},
     CardFieldError, "character_book"),
])
def test_malformed_cards_raise_named_errors(card, error, match):
    with pytest.raises(error, match=match):
        card_to_persona(card)


def test_v1_card_is_read():
    persona = card_to_persona({"name": "Ada", "description": "An engineer.", "first_mes": "Hi"})
    assert persona.name == "Ada" and persona.greeting == "Hi"


@needs_shared
def test_reference_card_json_and_png_round_trip_exactly(tmp_path):
    original = json.loads((CARDS / "Seraphina.chara.json").read_text(encoding="utf-8"))
    persona = card_to_persona(copy.deepcopy(original))
    assert persona_to_card(persona, "chara_card_v2") == original
    png = read_card(CARDS / "default_Seraphina.png")
    assert png.card == original and png.image
    # written back into its own picture, it reads back the same
    out = write_card(persona_to_card(persona, "chara_card_v2"), tmp_path / "s.png",
                     image=png.image)
    assert read_card(out).card == original


@needs_shared
def test_reference_card_lorebook_fires_on_its_keywords():
    persona = import_persona(CARDS / "Seraphina.chara.json")
    quiet = persona.full_system_prompt(["Hello there"])
    woods = persona.full_system_prompt(["What is this forest?"], user_name="Ann")
    assert len(woods) > len(quiet) and "Eldoria" in woods and "{{" not in woods
