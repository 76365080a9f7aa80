"""A client disconnects mid-reply (its TCP connection aborted, no close frame) from the
realtime server on loopback (fake models: a reply written a word every 80 ms, spoken at
50 ms of audio a character).

What it had heard is kept in history as an interrupted turn, nothing is left running (the
model's stream closed, the conversation's lock and the session slot released), and the
server completes a turn for the next connection."""

from __future__ import annotations

import asyncio

import httpx

from realtime_server import LONG, make_agent, open_client, serve

TYPED = "Tell me about the town."


async def typed_turn(client, text: str = TYPED) -> None:
    await client.send("conversation.item.create", item={
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
    await client.send("response.create")


async def test_a_client_gone_mid_reply_keeps_what_it_heard_and_frees_everything():
    agent, model, _ = make_agent([LONG], token_delay_s=0.08, seconds_per_char=0.05)
    with serve(agent) as live:
        client = await open_client(live.url)
        session_id = client.of("session.created")[0]["session"]["id"]
        await typed_turn(client)
        await client.wait_type("response.audio.delta")
        await asyncio.sleep(0.5)  # half a second of the reply has played
        client.ws.transport.abort()  # gone: no close frame, no truncate

        history = []
        for _ in range(100):
            history = await agent.services.memory.history(session_id)
            if len(history) == 2:
                break
            await asyncio.sleep(0.05)
        user, heard = history
        assert user.text == TYPED
        assert heard.interrupted and heard.text.strip()
        assert len(heard.text) < len(LONG) / 2 and LONG.startswith(heard.text.strip()), heard.text

        assert model.stopped_early == 1  # the model stopped writing when the client left
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                if (await http.get(live.http + "/healthz")).json()["sessions"] == 0:
                    break
                await asyncio.sleep(0.05)
            assert (await http.get(live.http + "/healthz")).json()["sessions"] == 0
        assert len(agent._locks) == 0  # no conversation lock left held

        second = await open_client(live.url)
        try:
            await typed_turn(second, "And the bakery?")
            done = await second.wait_type("response.done", timeout=20)
            assert done["response"]["status"] == "completed"
        finally:
            await second.close()
