"""Persona files (YAML/JSON) and the library: validation errors name the field and the line."""

from __future__ import annotations

import pytest

from personas import (
    DEFAULT_PERSONA, Persona, PersonaFileError, PersonaLibrary, PersonaNotFoundError,
    dump_persona, load_persona, parse_persona,
)
from speech.style import Emotion, Style

GOOD = """\
name: Ann
system_prompt: You are Ann.
greeting: Hi!
alternate_greetings: [Hello!, Hey.]
voice: en_US-joe-medium
default_style: {emotion: happy, speed: 1}
style_tags: [happy, (悲伤1), "[Laughter]"]
lore:
  entries:
    - keys: [tea]
      content: Ann loves green tea.
"""


def test_yaml_persona_loads_with_all_its_parts(tmp_path):
    path = tmp_path / "ann.yaml"
    path.write_text(GOOD, encoding="utf-8")
    persona = load_persona(path)
    assert persona.name == "Ann" and persona.voice.id == "en_US-joe-medium"
    assert persona.default_style == Style(emotion=Emotion.HAPPY, speed=1)
    assert persona.greetings == ["Hi!", "Hello!", "Hey."]
    assert persona.style_tags == ["happy", "悲伤1", "Laughter"]
    assert persona.lore.entries[0].keys == ["tea"]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_dump_and_parse_round_trip(fmt):
    persona = parse_persona(GOOD)
    assert parse_persona(dump_persona(persona, fmt), fmt=fmt) == persona


@pytest.mark.parametrize("text, field, line", [
    ("name: Ann\nsystem_prompt: x\ndefault_style:\n  speed: 9\n", "default_style.speed", 4),
    ("name: Ann\nsystem_prompt: x\nstyle_tags: [happy, excited]\n", "style_tags", 3),
    ("name: Ann\nsystem_prompt: x\nlore:\n  entries:\n    - keys: [a]\n    - keys: [b]\n"
     "      content: b\n", "lore.entries.0.content", 5),
    ("system_prompt: x\ngreeting: hi\n", "name", 1),
    ("name: Ann\nsystem_prompt: x\nvoice: {prompt_wav: a.wav}\n", "voice", 3),
    ("name: Ann\nsystem_prompt: x\ncolour: blue\n", "colour", 3),
])
def test_invalid_yaml_names_field_and_line(text, field, line):
    with pytest.raises(PersonaFileError) as info:
        parse_persona(text, source="ann.yaml")
    assert info.value.field == field and info.value.line == line
    assert f"ann.yaml:{line}: {field}" in str(info.value)


def test_invalid_json_names_field_and_line():
    text = '{\n  "name": "Ann",\n  "system_prompt": "x",\n  "default_style": {"speed": "fast"}\n}'
    with pytest.raises(PersonaFileError) as info:
        parse_persona(text, fmt="json", source="ann.json")
    assert (info.value.field, info.value.line) == ("default_style.speed", 4)


@pytest.mark.parametrize("text, fmt, line", [
    ("name: Ann\n  bad: [\n", "yaml", 2), ('{"name": "Ann",\n}', "json", 2)])
def test_syntax_errors_give_the_line(text, fmt, line):
    with pytest.raises(PersonaFileError, match=f"p:{line}: not valid") as info:
        parse_persona(text, fmt=fmt, source="p")
    assert info.value.line == line


def test_not_a_mapping_and_missing_file_are_persona_errors(tmp_path):
    with pytest.raises(PersonaFileError, match="one mapping"):
        parse_persona("- a\n- b\n")
    with pytest.raises(PersonaFileError, match="cannot read"):
        load_persona(tmp_path / "nope.yaml")


def test_relative_prompt_wav_is_relative_to_the_file(tmp_path):
    (tmp_path / "p.yaml").write_text(
        "name: A\nsystem_prompt: x\nvoice: {prompt_wav: v.wav, prompt_text: hello}\n")
    assert load_persona(tmp_path / "p.yaml").voice.prompt_wav == str(tmp_path / "v.wav")


def test_builtin_library_has_the_required_personas():
    library = PersonaLibrary()
    assert {"skyway-agent", "captain-bram", "pip", "veyra", "xiaoyue"} <= set(library.names())
    personas = {key: library.get(key) for key in library.names()}
    for persona in personas.values():
        assert persona.greeting and persona.voice.id and persona.style_tags
        persona.full_system_prompt()  # every built-in assembles
    agent = personas["skyway-agent"]
    assert agent.allowed_tools and any(e.constant for e in agent.lore.entries)
    assert "refundable" in agent.full_system_prompt()  # the policy is always in the prompt
    # three role-play characters with clearly different default delivery
    styles = {k: personas[k].default_style for k in ("captain-bram", "pip", "veyra")}
    assert styles["pip"].speed > 0 > styles["captain-bram"].speed
    assert styles["pip"].pitch > 0 > styles["captain-bram"].pitch
    assert styles["veyra"].whisper and not styles["pip"].whisper
    xiaoyue = library.get("小跃")
    assert xiaoyue.language == "zh" and xiaoyue.voice.id == "Tingting"
    assert {"rap", "singing", "cantonese", "sichuanese"} <= set(xiaoyue.style_tags)


def test_library_lookup_by_name_override_and_save(tmp_path):
    library = PersonaLibrary(tmp_path)
    assert library.get("MIA").name == "Mia"
    own = Persona(name="Mia", system_prompt="You are my own Mia.")
    path = library.save(own, "skyway-agent")
    assert path.parent == tmp_path
    assert library.get("skyway-agent").system_prompt == "You are my own Mia."
    with pytest.raises(PersonaNotFoundError, match="skyway-agent"):
        library.get("nobody")


def test_default_persona_still_builds_the_old_prompt():
    assert DEFAULT_PERSONA.full_system_prompt().startswith(DEFAULT_PERSONA.system_prompt)
    with pytest.raises(ValueError, match="system_prompt or a description"):
        Persona(name="x")
