"""The reply journal on a SQL history (SQLite here): the user's turn and the reply are in the
database while the reply plays, and a prompt never sees a journaled turn twice (its
provisional rows and the held turns that stand in for them)."""

from __future__ import annotations

import asyncio
import sqlite3

from agent import VoiceAgent
from fakes import FixedTranscriber, RecordingDecoder, ScriptedChatModel
from memory import BufferedDialogueStore, SqlDialogueStore
from realtime_server import HEARD, open_client, serve
from workers import say


def rows(path, conversation_id: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT role, text, interrupted FROM turns WHERE conversation_id = ? "
                            "ORDER BY seq", (conversation_id,)).fetchall()


async def test_a_playing_reply_is_stored_and_no_prompt_holds_a_turn_twice(tmp_path):
    path = tmp_path / "history.db"
    model = ScriptedChatModel(["First answer, spoken slowly to the end.", "Second answer."])
    # 0.05 s of audio per character: the first reply plays for about two seconds.
    agent = VoiceAgent(model, decoder=RecordingDecoder(seconds_per_char=0.05),
                       tokenizer=FixedTranscriber(HEARD), tools=[],
                       memory=BufferedDialogueStore(SqlDialogueStore(path)), learn_facts=False)
    with serve(agent) as server:
        client = await open_client(server.url + "?conversation_id=journal-1")
        await say(client, "the first question", played=False)
        while_playing = rows(path, "journal-1")
        await asyncio.sleep(1.2)  # part of the first reply has played
        await say(client, "the second question")  # it still plays: the new turn cuts it
        await client.close()
    assert while_playing == [("user", "the first question", 0),
                             ("assistant", "First answer, spoken slowly to the end.", 1)]
    second_prompt = " | ".join(str(m.content) for m in model.calls[1][0])
    assert second_prompt.count("the first question") == 1, second_prompt
    assert second_prompt.count("First answer") == 1, second_prompt
    stored = rows(path, "journal-1")
    assert [r[0] for r in stored] == ["user", "assistant", "user", "assistant"]
    assert stored[0][1] == "the first question" and stored[2][1] == "the second question"
    # Cut by the second question: only the words played stay, marked interrupted.
    assert stored[1][2] == 1 and "First answer, spoken slowly to the end.".startswith(stored[1][1])
