"""Issue #21's acceptance check, and kill -9 in the middle of a spoken reply.

Two real `stepvox serve` workers (child processes) share one PostgreSQL database (a schema of
this test's own) and one Redis; the LLM is `NameEchoServer`, a loopback OpenAI-compatible
double that answers "what is my name?" only from what its prompt holds. A scripted websocket
client talks to worker 1, worker 1 is killed with SIGKILL, and the client reconnects to
worker 2 with the same `conversation_id`.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from websockets.asyncio.client import connect

from cluster_env import conversation_owner, stored_turns, url_for
from name_model import STORY, NameEchoServer
from realtime_server import Client
from workers import Worker, say, wait_until

TOKENS = {"alice": "alice-token-3f9c2a7d41", "mallory": "mallory-token-8e1b0c66"}


@pytest.fixture
def llm():
    with NameEchoServer() as server:
        yield server


@pytest.fixture
def two_workers(tmp_path, pg_schema, redis_url, llm):
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps(TOKENS))
    workers = [Worker(f"worker{i}", tmp_path, llm_url=llm.base_url,
                      database_url=url_for(pg_schema), redis_url=redis_url, tokens_file=tokens)
               for i in (1, 2)]
    try:
        for worker in workers:
            worker.wait_ready()
        yield workers
    finally:
        for worker in workers:
            worker.stop()
        for worker in workers:  # a worker that failed says why
            assert "Traceback" not in worker.log.read_text(), worker.log.read_text()[-5000:]


async def open_on(worker: Worker, conversation_id: str, token: str = TOKENS["alice"]) -> Client:
    client = Client(await connect(f"{worker.ws}?token={token}&conversation_id={conversation_id}",
                                  max_size=None))
    await client.wait_for(lambda e: e["type"] in ("session.created", "error"), timeout=30)
    return client


async def test_a_name_told_to_worker_1_is_answered_by_worker_2_after_kill_9(two_workers, llm,
                                                                           pg_schema):
    one, two = two_workers
    conversation = f"call-{uuid.uuid4().hex[:12]}"
    client = await open_on(one, conversation)
    created = client.of("session.created")[0]
    assert created["session"]["conversation_id"] == conversation and not created["resumed"]
    told = await say(client, "Hello, my name is Alice.", played=False)
    assert told["response"]["status"] == "completed"
    assert "Nice to meet you, Alice" in told["response"]["output_text"]
    # Killed at once, while the greeting is still playing at the caller: the turn is in the
    # database only because the journal wrote it ahead.
    one.kill9()
    killed_at = time.monotonic()
    await client.ws.close()

    resumed = await open_on(two, conversation)
    assert resumed.of("session.created"), resumed.events
    assert resumed.of("session.created")[0]["resumed"] is True, stored_turns(pg_schema,
                                                                             conversation)
    asked = await say(resumed, "What is my name?")
    await resumed.close()

    assert asked["response"]["status"] == "completed"
    assert asked["response"]["output_text"] == "Your name is Alice."
    # The answer came from a prompt worker 2 sent after worker 1 was dead.
    after = llm.replies_after(killed_at)
    assert any(reply == "Your name is Alice." and any(
        "my name is Alice" in str(m.get("content")) for m in messages)
        for messages, reply in after), after
    turns = stored_turns(pg_schema, conversation)
    assert [(r, t) for r, t, _ in turns[:2]] == [
        ("user", "Hello, my name is Alice."), ("assistant", "Nice to meet you, Alice.")]
    assert [(r, t) for r, t, _ in turns[2:]] == [
        ("user", "What is my name?"), ("assistant", "Your name is Alice.")]
    assert conversation_owner(pg_schema, conversation) == "alice"


async def test_kill_9_mid_reply_keeps_the_turn_and_the_sent_words_then_continues(
        two_workers, pg_schema):
    one, two = two_workers
    conversation = f"call-{uuid.uuid4().hex[:12]}"
    client = await open_on(one, conversation)
    await say(client, "Hi, my name is Alice.")
    client.events.clear()
    await client.send("conversation.item.create", item={
        "type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "Please tell me a story."}]})
    await client.send("response.create")
    # The story streams a word every 0.15 s: kill once its first part has been sent.
    await wait_until(lambda: client.of("response.audio.delta"), 60, "the story's first audio")
    await asyncio.sleep(0.5)
    heard = " ".join(e["delta"] for e in client.of("response.audio_transcript.delta")).split()
    one.kill9()
    await client.ws.close()
    assert not client.of("response.done"), "the story finished before the kill"

    turns = stored_turns(pg_schema, conversation)
    # Every user turn has its reply; nothing half-written: the cut reply holds whole words
    # of the story, at least those whose audio the client got (each chunk is written before
    # it is sent, so at most the one chunk being sent more), and says it was interrupted.
    assert [r for r, _, _ in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[2] == ("user", "Please tell me a story.", False)
    role, sent, interrupted = turns[3]
    assert interrupted and sent and STORY.startswith(sent) and sent != STORY
    assert sent.split()[:len(heard)] == heard, (sent, heard)
    longest_sentence = max(len(s.split()) for s in STORY.split(". "))
    assert len(sent.split()) - len(heard) <= longest_sentence, (sent, heard)

    resumed = await open_on(two, conversation)
    assert resumed.of("session.created")[0]["resumed"] is True
    asked = await say(resumed, "What is my name?")
    await resumed.close()
    assert asked["response"]["output_text"] == "Your name is Alice."
    turns = stored_turns(pg_schema, conversation)
    assert [t for _, t, _ in turns[-2:]] == ["What is my name?", "Your name is Alice."]
    assert len(turns) == 6


async def test_another_callers_token_cannot_open_the_conversation(two_workers, pg_schema):
    one, two = two_workers
    conversation = f"call-{uuid.uuid4().hex[:12]}"
    client = await open_on(one, conversation)
    await say(client, "Hello, my name is Alice.")
    await client.close()
    intruder = await open_on(two, conversation, TOKENS["mallory"])
    malformed = await open_on(two, "../etc/passwd")
    await intruder.close()
    await malformed.close()
    assert [e["error"]["code"] for e in intruder.of("error")] == ["conversation_forbidden"]
    assert not intruder.of("session.created")
    assert [e["error"]["code"] for e in malformed.of("error")] == ["invalid_conversation_id"]
    assert [t for _, t, _ in stored_turns(pg_schema, conversation)] == [
        "Hello, my name is Alice.", "Nice to meet you, Alice."]
