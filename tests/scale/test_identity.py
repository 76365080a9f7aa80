"""Conversation ids from clients and per-user tokens: what is accepted, what is refused and
how (each refusal names the input tried)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner
from websockets.asyncio.client import connect

from agent.cli.main import app as cli
from agent.realtime.cluster.identity import (
    Caller, CallerTokens, InvalidConversationId, TokensFileError, check_conversation_id,
    load_user_tokens,
)
from realtime_server import Client, make_agent, open_client, serve

GOOD_IDS = ["a", "call-42", "conv_0f3a", "tenant:7.call-1", "A" * 128]
BAD_IDS = ["", " ", "a b", "../etc/passwd", "-leading-dash", "ü", "a/b", "a" * 129, "x\n", 42,
           None, ["a"]]


@pytest.mark.parametrize("value", GOOD_IDS)
def test_ids_of_letters_digits_and_separators_are_accepted(value):
    assert check_conversation_id(value) == value


@pytest.mark.parametrize("value", BAD_IDS, ids=repr)
def test_malformed_ids_are_refused_by_name(value):
    with pytest.raises(InvalidConversationId, match="conversation_id must be"):
        check_conversation_id(value)


@pytest.mark.parametrize("content, why", [
    ("not json", "is not JSON"),
    ('["alice"]', "not a JSON object of user id -> token"),
    ('{"alice": "short"}', "shorter than 16"),
    ('{"al ice": "0123456789abcdef"}', "user id 'al ice'"),
    ('{"a": "0123456789abcdef", "b": "0123456789abcdef"}', "two users share a token"),
])
def test_a_bad_tokens_file_is_refused_with_the_reason(tmp_path, content, why):
    path = tmp_path / "tokens.json"
    path.write_text(content)
    with pytest.raises(TokensFileError, match=why):
        load_user_tokens(path)


def test_a_missing_tokens_file_is_named(tmp_path):
    with pytest.raises(TokensFileError, match="cannot read the tokens file"):
        load_user_tokens(tmp_path / "nowhere.json")


def test_stepvox_serve_refuses_a_bad_tokens_file_before_loading_models(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text('{"alice": "short"}')
    result = CliRunner().invoke(cli, ["serve", "--tokens-file", str(path)])
    assert result.exit_code == 2
    assert "shorter than 16" in " ".join(result.output.split())


def test_tokens_name_their_user_and_the_shared_one_nobody():
    tokens = CallerTokens(shared="shared-token-000000",
                          per_user={"alice": "alice-token-000000", "bob": "bob-token-00000000"})
    assert tokens.identify("alice-token-000000") == Caller("alice")
    assert tokens.identify("bob-token-00000000") == Caller("bob")
    assert tokens.identify("shared-token-000000") == Caller(None)
    assert tokens.identify("alice-token-000001") is None and tokens.identify("") is None
    assert CallerTokens().identify("") == Caller(None)  # no token configured: loopback use


async def test_a_malformed_id_in_the_url_gets_an_error_and_the_socket_closes():
    agent, _, _ = make_agent()
    with serve(agent) as server:
        client = Client(await connect(server.url + "?conversation_id=..%2Fx"))
        await client.wait_type("error")
        await client._reader
    assert [e["error"]["code"] for e in client.of("error")] == ["invalid_conversation_id"]
    assert "'../x'" in client.of("error")[0]["error"]["message"]
    assert not client.of("session.created") and client.ws.close_code == 1008


async def test_a_malformed_id_in_session_update_gets_an_error_and_the_session_goes_on():
    agent, _, _ = make_agent()
    with serve(agent) as server:
        client = await open_client(server.url)
        first = client.of("session.created")[0]["session"]["conversation_id"]
        await client.send("session.update", session={"conversation_id": "a b"})
        error = await client.wait_type("error")
        await client.send("session.update", session={"conversation_id": "next-call"})
        updated = await client.wait_type("session.updated")
        await client.close()
    assert error["error"]["code"] == "invalid_conversation_id" and "'a b'" in error["error"][
        "message"]
    assert first != "next-call" and updated["session"]["conversation_id"] == "next-call"


def test_the_tokens_file_example_in_the_deployment_guide_loads(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"alice": "7f3c0e9a41b24d6c", "bob": "c51d8e07aa9f4b23"}))
    assert load_user_tokens(path) == {"alice": "7f3c0e9a41b24d6c", "bob": "c51d8e07aa9f4b23"}


async def test_the_in_process_bus_keeps_a_bounded_number_of_reply_timelines():
    from agent.realtime.cluster.bus import LocalBus, ReplyTimeline

    now = [0.0]
    bus = LocalBus(clock=lambda: now[0], max_replies=3)
    for i in range(10):
        await bus.remember_reply(f"c{i}", ReplyTimeline(response_id=f"r{i}", seq=1,
                                                        sentences=[("Hi.", 0.5)]), ttl_s=60)
    assert len(bus._replies) == 3 and (await bus.last_reply("c9")).response_id == "r9"
    assert await bus.last_reply("c0") is None
    now[0] = 61.0  # all expired: the next write drops them
    await bus.remember_reply("late", ReplyTimeline(response_id="r", seq=1, sentences=[]), 60)
    assert list(bus._replies) == ["late"]
