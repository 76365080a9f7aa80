"""A returning caller is greeted by name: the name said in one conversation is remembered per
user in the SQL store and used to greet them in the next (a new agent: another process)."""

from __future__ import annotations

from fakes import RecordingDecoder, ScriptedChatModel

from agent import VoiceAgent
from agent.recall.caller import spoken_name
from memory import SqlDialogueStore
from personas import DEFAULT_PERSONA


def test_only_plainly_given_names_count():
    assert spoken_name("Hi, my name is Alice and I lost my bag.") == "Alice"
    assert spoken_name("Please call me Bob.") == "Bob"
    for not_a_name in ("I'm tired", "my name is not important", "call me later", ""):
        assert spoken_name(not_a_name) is None, not_a_name


async def test_a_returning_caller_is_greeted_by_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'history.sqlite3'}"
    first = VoiceAgent(ScriptedChatModel(["Nice to meet you, Alice."]), decoder=RecordingDecoder(),
                       memory=SqlDialogueStore(url), tools=[])
    assert await first.greeting("ann-42") == DEFAULT_PERSONA.greeting_text()
    await first.arespond("Hello, my name is Alice.", conversation_id="c1", user_id="ann-42")
    await first.aclose()

    later = VoiceAgent(ScriptedChatModel(["Hi again."]), decoder=RecordingDecoder(),
                       memory=SqlDialogueStore(url), tools=[])
    assert await later.greeting("ann-42") == "Welcome back, Alice! How can I help you today?"
    assert await later.greeting("someone-else") == DEFAULT_PERSONA.greeting_text()
    conversations = await later.services.memory.conversations(user_id="ann-42")
    assert [c.id for c in conversations] == ["c1"]
    await later.aclose()


async def test_without_a_sql_store_names_are_not_kept():
    agent = VoiceAgent(ScriptedChatModel(["Hi."]), decoder=RecordingDecoder(), tools=[])
    await agent.arespond("My name is Carol.", user_id="carol")
    assert await agent.greeting("carol") == DEFAULT_PERSONA.greeting_text()
