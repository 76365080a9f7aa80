"""`conversation.item.truncate` over the websocket: the client says where its playback
stopped, and the history keeps only the words played up to there."""

from __future__ import annotations

from realtime_server import HEARD, LONG, make_agent, open_client, serve, utterance
from realtime_signals import silence, tone

# LONG's two sentences at 30 ms a character: 1.02 s and 2.04 s of audio.
FIRST = "It is noon right now here in town."


def session_id(client) -> str:
    return client.of("session.created")[0]["session"]["id"]


async def test_truncate_while_the_reply_plays_keeps_the_words_heard():
    agent, model, _ = make_agent([LONG], seconds_per_char=0.03)
    with serve(agent) as server:
        client = await open_client(server.url)
        await client.stream(utterance(0.6))
        delta = await client.wait_type("response.audio.delta")
        await client.wait_type("response.done", status="completed")  # written, still playing
        # Stopped halfway through the second sentence: 1.02 s + 1.02 s.
        await client.send("conversation.item.truncate", item_id=delta["item_id"],
                          content_index=0, audio_end_ms=2040)
        truncated = await client.wait_type("conversation.item.truncated")
        state = await client.wait_type("conversation.state.changed", reason="reply_truncated")
        cid = session_id(client)
        await client.close()
    heard = FIRST + " The sun is high, the shops are"  # 7 of the second sentence's 14 words
    assert delta["item_id"] == truncated["item_id"] == f"{delta['response_id']}_output"
    assert truncated["by_client"] and truncated["audio_end_ms"] == 2040
    assert truncated["played_text"] == heard
    assert state["state"] == "silence"
    history = await agent.services.memory.history(cid)
    assert [(t.role, t.text) for t in history] == [("user", HEARD), ("assistant", heard)]
    assert history[1].interrupted and history[1].audio_duration_s == 2.04


async def test_truncate_after_a_barge_in_corrects_the_server_estimate():
    agent, model, _ = make_agent([LONG, "Sure."], token_delay_s=0.08, seconds_per_char=0.03)
    with serve(agent) as server:
        client = await open_client(server.url)
        await client.stream(utterance(0.6))
        await client.wait_type("response.audio.delta")
        await client.stream(tone(0.9), pace=1.0)  # the user talks over the reply
        cleared = await client.wait_type("output_audio_buffer.cleared")
        cancelled = await client.wait_type("response.done", status="cancelled")
        # The page had played only 0.25 s of it (its own buffer started late).
        await client.send("conversation.item.truncate",
                          item_id=cleared["response_id"] + "_output", audio_end_ms=250)
        truncated = await client.wait_type("conversation.item.truncated")
        await client.stream(silence(1.0))
        await client.wait_type("response.done", status="completed")
        stats = await client.wait_for(lambda e: e["type"] == "session.stats"
                                      and e["session"]["turns"]["completed"] == 1)
        cid = session_id(client)
        await client.close()
    assert cancelled["response"]["played_text"] != truncated["played_text"]
    # The first chunk is "It is noon right now here" (cut before "in"): 0.75 s of audio,
    # so int(6 words * 0.25 s / 0.75 s) = 2 words.
    assert truncated["played_text"] == "It is"
    assert stats["session"]["barge_ins"] == 1
    history = await agent.services.memory.history(cid)
    assert [t.role for t in history] == ["user", "assistant"] * 2
    assert history[1].text == "It is" and history[1].interrupted
    # The next turn was prompted with the corrected words.
    assert model.calls[1][0][-2].content == "It is"


async def test_bad_truncates_get_errors():
    agent, model, _ = make_agent()
    with serve(agent) as server:
        client = await open_client(server.url)
        # Tried: an item that does not exist, a second content part, no position, a negative
        # position, and a reply that has already been followed by another.
        await client.send("conversation.item.truncate", item_id="item_nope", audio_end_ms=10)
        await client.send("conversation.item.truncate", item_id="x", content_index=1,
                          audio_end_ms=10)
        await client.send("conversation.item.truncate", item_id="x")
        await client.send("conversation.item.truncate", item_id="x", audio_end_ms=-5)
        for text in ("one", "two"):
            await client.send("conversation.item.create", item={
                "role": "user", "content": [{"type": "input_text", "text": text}]})
            await client.send("response.create")
            await client.wait_type("response.done", status="completed")
        first = client.of("response.created")[0]["response"]["output"][0]["id"]
        await client.send("conversation.item.truncate", item_id=first, audio_end_ms=10)
        await client.wait_for(lambda e: e["type"] == "error" and len(client.of("error")) == 5)
        await client.close()
    codes = [e["error"]["code"] for e in client.of("error")]
    assert codes == ["item_truncate_unavailable", "invalid_content_index", "invalid_event",
                     "invalid_event", "item_truncate_unavailable"]
    assert "audio_end_ms" in client.of("error")[2]["error"]["message"]
    assert not [e for e in client.of("conversation.item.truncated") if e["by_client"]]
