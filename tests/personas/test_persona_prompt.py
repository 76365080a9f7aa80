"""Persona prompt assembly (fixed order, macros, lore) and lorebook triggering."""

from __future__ import annotations

from agent import VoiceAgent
from fakes import RecordingDecoder, ScriptedChatModel
from personas import Lorebook, LoreEntry, Persona, expand_macros

FULL = Persona(
    name="Bram", system_prompt="SYSTEM {{char}}", description="DESCRIPTION",
    personality="PERSONALITY", scenario="SCENARIO with {{user}}",
    example_dialogues=["{{user}}: hi\n{{char}}: EXAMPLE"], style_tags=["sad"],
    lore=Lorebook(entries=[LoreEntry(keys=["ship"], content="LORE ship")]),
)


def test_sections_come_in_the_documented_order():
    prompt = FULL.full_system_prompt(["tell me about your ship"], user_name="Ann")
    order = ["SYSTEM Bram", "DESCRIPTION", "Bram's personality: PERSONALITY",
             "Scenario: SCENARIO with Ann", "LORE ship", "Ann: hi\nBram: EXAMPLE",
             "spoken aloud", "(悲伤1) sad"]
    positions = [prompt.index(part) for part in order]
    assert positions == sorted(positions)
    assert "{{" not in prompt


def test_lore_only_when_triggered_so_the_prompt_is_stable_otherwise():
    quiet = FULL.full_system_prompt(["hello"])
    assert "LORE" not in quiet and quiet == FULL.full_system_prompt()


def test_macros_expand_case_insensitively_and_comments_vanish():
    text = "{{CHAR}} meets {{user}} <BOT> <user>{{// hidden}}{{comment: x}} {{reverse:abc}}"
    assert expand_macros(text, "Bram", "Ann") == "Bram meets Ann Bram Ann cba"


def book(**kwargs):
    entries = kwargs.pop("entries")
    return Lorebook(entries=[LoreEntry(**e) for e in entries], **kwargs)


def fired(lorebook, messages):
    return [e.content for e in lorebook.triggered(messages)]


def test_keys_fire_within_scan_depth_only():
    lore = book(scan_depth=2, entries=[{"keys": ["dragon"], "content": "D"}])
    assert fired(lore, ["a dragon!", "b", "c"]) == []
    assert fired(lore, ["a", "the Dragon?", "c"]) == ["D"]
    assert fired(book(scan_depth=0, entries=[{"keys": ["x"], "content": "X"}]), ["x"]) == []


def test_insertion_order_constant_disabled_and_whole_words():
    lore = book(entries=[
        {"keys": ["cat"], "content": "C", "insertion_order": 30},
        {"keys": [], "content": "ALWAYS", "constant": True, "insertion_order": 20},
        {"keys": ["cat"], "content": "OFF", "enabled": False},
        {"keys": ["猫"], "content": "NEKO", "insertion_order": 10},
    ])
    assert fired(lore, ["my cat and 我的猫"]) == ["NEKO", "ALWAYS", "C"]
    assert fired(lore, ["a category"]) == ["ALWAYS"]  # 'cat' is not a word there


def test_case_sensitive_selective_and_regex_keys():
    lore = book(entries=[
        {"keys": ["Rose"], "content": "NAME", "case_sensitive": True},
        {"keys": ["sword"], "secondary_keys": ["fire"], "selective": True, "content": "FIRE"},
        {"keys": ["/d[io]g+s?/i"], "use_regex": True, "content": "RE"},
        {"keys": ["(unclosed"], "use_regex": True, "content": "BAD"},
    ])
    assert fired(lore, ["a rose and a sword"]) == []
    assert fired(lore, ["Rose lit the sword with fire", "DOGS (unclosed"]) == [
        "NAME", "FIRE", "RE"]


def test_recursive_scanning_and_token_budget():
    entries = [{"keys": ["king"], "content": "The king has a castle.", "insertion_order": 1},
               {"keys": ["castle"], "content": "The castle is old.", "insertion_order": 2}]
    assert fired(book(entries=entries), ["the king"]) == ["The king has a castle."]
    assert fired(book(entries=entries, recursive_scanning=True), ["the king"]) == [
        "The king has a castle.", "The castle is old."]
    budget = book(entries=entries, recursive_scanning=True, token_budget=6)
    assert fired(budget, ["the king"]) == ["The castle is old."]  # lowest order cut first


async def test_the_agent_prompt_carries_lore_triggered_by_history_and_this_turn():
    model = ScriptedChatModel(["Aye.", "Aye again."])
    agent = VoiceAgent(model, decoder=RecordingDecoder(), tools=[], persona=FULL)
    [e async for e in agent.stream("tell me of your ship", conversation_id="c")]
    first = model.calls[0][0]
    # The fired entry is a system line right before the words; the system message, which
    # a backend caches with its tool list, is the same as on a turn that fires nothing.
    assert [m.role for m in first[-2:]] == ["system", "user"]
    assert first[-2].content == "LORE ship" and "LORE" not in first[0].content
    assert first[0].content == FULL.full_system_prompt()
    [e async for e in agent.stream("and the weather?", conversation_id="c")]
    later = model.calls[1][0]
    assert later[-2].content == "LORE ship"  # still within the scan depth
    assert later[-1].content == "and the weather?" and later[0].content == first[0].content


def test_world_info_file_converts_to_a_lorebook():
    import json
    from pathlib import Path

    import pytest

    from personas.lorebook import lorebook_from_world_info

    path = (Path(__file__).resolve().parents[2].parent / "shared" / "reference" /
            "character-cards" / "Eldoria.worldinfo.json")
    if not path.is_file():
        pytest.skip(f"needs {path} (../shared is absent)")
    lore = lorebook_from_world_info(json.loads(path.read_text(encoding="utf-8")), "Eldoria")
    assert len(lore.entries) == 4 and all(e.enabled for e in lore.entries)
    hits = lore.triggered(["Are there monsters in the glade?"])
    assert {e.id for e in hits} == {1, 2} or {str(e.id) for e in hits} == {"1", "2"}
