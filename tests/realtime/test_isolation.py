"""One session can never read or change another's conversation: not its history, its replies,
its pending approvals, its audio files, nor a persona file outside the library, whatever ids
it puts in its events. Each test has session A hold something and session B try for it."""

from __future__ import annotations

import asyncio

from fakes import FixedTranscriber, RecordingDecoder, ScriptedChatModel

from agent import ToolCall, VoiceAgent
from agent.recall.audio_archive import TurnAudioArchive
from agent.realtime.persona_agents import PersonaAgents
from personas import PersonaLibrary
from realtime_server import HEARD, LONG, Client, make_agent, open_client, serve
from websockets.asyncio.client import connect
from tools import tool

SECRET = "my locker code is 4711"


async def say(client, text: str) -> dict:
    await client.send("conversation.item.create", item={
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
    await client.send("response.create")
    return await client.wait_type("response.done")


def prompt_text(model: ScriptedChatModel, call: int = -1) -> str:
    return " ".join(str(m.content) for m in model.calls[call][0])


async def test_history_of_one_session_never_reaches_anothers_prompt():
    # Callers are told apart by their tokens (per-user tokens): a conversation belongs to the
    # user who created it. (With one shared token or none, every caller is the same one and
    # a conversation id is the only key: docs/deployment.md.)
    tokens = {"alice": "alice-token-0123456789", "bob": "bob-token-0123456789ab"}
    agent, model, _ = make_agent(["Noted."])
    with serve(agent, user_tokens=tokens) as server:
        a = await open_client(server.url + f"?token={tokens['alice']}")
        b = await open_client(server.url + f"?token={tokens['bob']}")
        await say(a, SECRET)
        a_id = a.of("session.created")[0]["session"]["conversation_id"]
        # B names A's conversation as its own, in every field a client might try.
        await b.send("session.update", session={"id": a_id, "conversation_id": a_id,
                                                "session_id": a_id})
        refused = await b.wait_type("error")
        await b.send("session.update", session={"id": a_id, "session_id": a_id})
        updated = await b.wait_type("session.updated")
        await say(b, "what is my locker code?")
        await a.close()
        await b.close()
        # ... nor by opening a socket on it.
        c = Client(await connect(server.url + f"?token={tokens['bob']}&conversation_id={a_id}"))
        await c.wait_type("error")
        await c.close()
    assert refused["error"]["code"] == "conversation_forbidden"
    assert c.of("error")[0]["error"]["code"] == "conversation_forbidden"
    assert not c.of("session.created")
    assert set(updated["ignored_fields"]) == {"id", "session_id"}
    assert updated["session"]["id"] != a_id and updated["session"]["conversation_id"] != a_id
    assert "4711" in prompt_text(model, 0) and "4711" not in prompt_text(model, -1)


async def test_truncating_or_cancelling_another_sessions_reply_fails():
    agent, model, _ = make_agent([LONG], token_delay_s=0.08)
    with serve(agent) as server:
        a = await open_client(server.url)
        b = await open_client(server.url)
        await a.send("conversation.item.create", item={
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]})
        await a.send("response.create")
        created = await a.wait_type("response.created")
        a_response = created["response"]["id"]
        await b.send("conversation.item.truncate", item_id=f"{a_response}_output",
                     audio_end_ms=0)
        await b.send("response.cancel", response_id=a_response)
        await b.wait_for(lambda e: len(b.of("error")) == 2)
        done = await a.wait_type("response.done", timeout=20)
        await a.close()
        await b.close()
    assert [e["error"]["code"] for e in b.of("error")] == [
        "item_truncate_unavailable", "response_cancel_not_active"]
    assert done["response"]["status"] == "completed"  # A's reply played out whole
    assert not a.of("conversation.item.truncated")


opened: list[str] = []


@tool(requires_approval=True, safe_to_repeat=False)
def unlock_door(door: str) -> str:
    """Unlock a door."""
    opened.append(door)
    return f"door {door} unlocked"


def _reply(messages, tools, tool_choice):
    last = str(messages[-1].content).lower()
    if "unlock" in last and tool_choice != "none":
        return ToolCall(name="unlock_door", arguments={"door": "front"})
    return "Okay."


async def test_a_yes_in_one_session_never_approves_anothers_pending_call():
    opened.clear()
    model = ScriptedChatModel([_reply])
    agent = VoiceAgent(model, decoder=RecordingDecoder(seconds_per_char=0.001),
                       tokenizer=FixedTranscriber(HEARD), tools=[unlock_door])
    with serve(agent) as server:
        a = await open_client(server.url)
        b = await open_client(server.url)
        asked = await say(a, "please unlock the front door")  # A is asked "shall I?"
        await say(b, "yes, go ahead")  # B says yes to nothing of its own
        await asyncio.sleep(0.2)
        after_b = list(opened)
        a.events.clear()
        await say(a, "yes, go ahead")  # only A's own yes opens A's door
        await a.close()
        await b.close()
    assert "Shall I do that?" in asked["response"]["output_text"]
    assert after_b == []
    assert opened == ["front"]


async def test_a_persona_name_cannot_reach_a_file_outside_the_library(tmp_path):
    library_dir = tmp_path / "library"
    library_dir.mkdir()
    (tmp_path / "secret.yaml").write_text("name: Secret\nsystem_prompt: the vault code is 99\n")
    agent, _, _ = make_agent()
    agents = PersonaAgents(agent, PersonaLibrary(library_dir, builtin=False))
    with serve(agents) as server:
        client = await open_client(server.url)
        for name in ("../secret", str(tmp_path / "secret"), "..%2Fsecret", "secret.yaml"):
            await client.send("session.update", session={"persona": name})
        await client.wait_for(lambda e: len(client.of("error")) == 4)
        await client.close()
    assert {e["error"]["code"] for e in client.of("error")} == {"invalid_session"}
    assert not client.of("session.updated")


def test_audio_files_stay_in_their_conversations_folder(tmp_path):
    archive = TurnAudioArchive(tmp_path / "audio")
    for hostile in ("../../etc", "/etc/passwd", "..", "a/../../b", "sess_1/../sess_2"):
        paths = archive.paths(hostile)
        for path in paths.values():
            folder = (tmp_path / "audio").resolve()
            assert folder in type(folder)(path).resolve().parents, (hostile, path)
            assert type(folder)(path).parent.parent == folder, (hostile, path)
