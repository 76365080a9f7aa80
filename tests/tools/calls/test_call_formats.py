"""Parsing tool calls out of every backend's output, and rendering schemas for each."""

import json

import pytest

from tools import tool
from tools.calls.openai import OpenAIStreamCalls, parse_openai_message
from tools.schemas.formats import (
    qwen_tools_block,
    render_tool_schemas,
    step_audio_schema_message,
    step_audio_schema_turn,
)
from tools.calls.text_parser import parse_text_calls

KNOWN = {"get_weather", "search", "get_date_time"}


def test_step_audio_call_after_a_filler_sentence():
    text = 'Let me check the weather in Paris.<tool_call>function\nget_weather\n{"location": "Paris"}</tool_call>'
    reply = parse_text_calls(text, KNOWN)
    assert reply.text == "Let me check the weather in Paris."
    assert [(c.name, c.arguments) for c in reply.calls] == [("get_weather", {"location": "Paris"})]
    assert reply.calls[0].id.startswith("call_")
    assert reply.malformed == []


def test_step_audio_parallel_calls_and_empty_arguments():
    text = ("<tool_call>function\nget_date_time\n</tool_call>"
            '<tool_call>function\nsearch\n{"query": "news"}</tool_call>')
    reply = parse_text_calls(text, KNOWN)
    assert [(c.name, c.arguments) for c in reply.calls] == [("get_date_time", {}), ("search", {"query": "news"})]
    assert len({c.id for c in reply.calls}) == 2
    assert reply.text == ""


def test_qwen_tagged_json_with_string_arguments():
    text = '<tool_call>\n{"name": "search", "arguments": "{\\"query\\": \\"step audio\\"}"}\n</tool_call>'
    reply = parse_text_calls(text, KNOWN)
    assert [(c.name, c.arguments) for c in reply.calls] == [("search", {"query": "step audio"})]


@pytest.mark.parametrize("text", [
    'Sure.\n```json\n{"name": "search", "arguments": {"query": "q"}}\n```',
    '```\n[{"name": "search", "parameters": {"query": "q"}}]\n```',
    '{"name": "search", "arguments": {"query": "q"}}',
    'Sure. {"type": "function", "function": {"name": "search", "arguments": {"query": "q"}}}',
])
def test_fenced_and_bare_json(text):
    reply = parse_text_calls(text, KNOWN)
    assert [(c.name, c.arguments) for c in reply.calls] == [("search", {"query": "q"})]
    assert "{" not in reply.text


@pytest.mark.parametrize("text", [
    '<tool_call>function\nlaunch_rockets\n{"count": 3}</tool_call>',
    '<tool_call>{"name": "launch_rockets", "arguments": {}}</tool_call>',
    '{"name": "launch_rockets", "arguments": {}}',
    'Here is JSON: ```json\n{"name": "Bob", "age": 3}\n```',
    '```python\n{"name": "search", "arguments": {}}\n```',
])
def test_unknown_tools_and_non_calls_stay_text(text):
    reply = parse_text_calls(text, KNOWN)
    assert reply.calls == [] and reply.malformed == []
    assert reply.text == text.strip()


def test_without_a_known_set_every_name_counts():
    assert parse_text_calls('{"name": "anything", "arguments": {"a": 1}}').calls[0].name == "anything"


def test_plain_text_is_text():
    reply = parse_text_calls("It is sunny today.", KNOWN)
    assert (reply.text, reply.calls, reply.has_calls) == ("It is sunny today.", [], False)


@pytest.mark.parametrize("text, name", [
    ('<tool_call>function\nget_weather\n{"location": Paris}</tool_call>', "get_weather"),
    ('<tool_call>function\nget_weather\n{"location": "Par', "get_weather"),
    ('<tool_call>{"name": "search", "arguments": {"query": }</tool_call>', "search"),
    ("<tool_call>{oops</tool_call>", None),
    ('<tool_call>function\nsearch\n["q"]</tool_call>', "search"),
])
def test_malformed_calls_become_a_clear_error_result(text, name):
    reply = parse_text_calls(text, KNOWN)
    assert reply.calls == [] and len(reply.malformed) == 1 and reply.has_calls
    bad = reply.malformed[0]
    assert bad.name == name
    result = bad.as_result()
    assert result.is_error and result.call_id == bad.id
    assert "could not be read" in result.content and "JSON object" in result.content


def test_openai_message_with_tool_calls_and_unknown_tool():
    message = {
        "role": "assistant",
        "content": "One moment.",
        "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "search", "arguments": '{"query": "x"}'}},
            {"id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": "{bad"}},
            {"id": "call_c", "type": "function", "function": {"name": "rm_rf", "arguments": "{}"}},
        ],
    }
    reply = parse_openai_message(message, KNOWN)
    assert [(c.id, c.name, c.arguments) for c in reply.calls] == [("call_a", "search", {"query": "x"})]
    assert [(m.id, m.name) for m in reply.malformed] == [("call_b", "get_weather")]
    assert reply.text.startswith("One moment.") and "rm_rf" in reply.text


def test_openai_message_without_native_calls_falls_back_to_text_formats():
    message = {"role": "assistant", "content": [
        {"type": "text", "text": 'Checking.<tool_call>function\nsearch\n{"query": "y"}</tool_call>'}]}
    reply = parse_openai_message(message, KNOWN)
    assert reply.text == "Checking." and reply.calls[0].arguments == {"query": "y"}


def test_openai_legacy_function_call():
    reply = parse_openai_message({"content": None, "function_call": {"name": "search", "arguments": '{"query": "z"}'}}, KNOWN)
    assert reply.calls[0].arguments == {"query": "z"}


def test_openai_stream_with_partial_arguments_and_parallel_calls():
    stream = OpenAIStreamCalls(KNOWN)
    deltas = [
        {"role": "assistant", "content": "Let me "},
        {"content": "look."},
        {"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "search", "arguments": ""}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"que'}}]},
        {"tool_calls": [{"index": 1, "id": "call_2", "function": {"name": "get_weather", "arguments": '{"loc'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": 'ry": "a"}'}}]},
        {"tool_calls": [{"index": 1, "function": {"arguments": 'ation": "Oslo"}'}}]},
        {},
    ]
    pieces = [stream.add(d) for d in deltas]
    assert "".join(pieces) == "Let me look." and stream.has_calls
    reply = stream.reply()
    assert reply.text == "Let me look."
    assert [(c.id, c.name, c.arguments) for c in reply.calls] == [
        ("call_1", "search", {"query": "a"}), ("call_2", "get_weather", {"location": "Oslo"})]


def test_openai_stream_cut_off_arguments_are_malformed_not_a_crash():
    stream = OpenAIStreamCalls(KNOWN)
    stream.add({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "search", "arguments": '{"query": "ab'}}]})
    reply = stream.reply()
    assert reply.calls == [] and reply.malformed[0].name == "search"


def test_openai_stream_of_plain_text():
    stream = OpenAIStreamCalls(KNOWN)
    for piece in ("Hel", "lo."):
        stream.add({"content": piece})
    assert stream.reply().text == "Hello." and not stream.has_calls


@tool
def lookup(query: str) -> str:
    """Look something up.

    Args:
        query: What to look for.
    """
    return query


def test_schema_renderings():
    openai = render_tool_schemas([lookup], "openai")
    assert openai == [lookup.openai_schema()]
    message = step_audio_schema_message([lookup])
    assert message["role"] == "tool_json_schemas" and json.loads(message["content"]) == openai
    assert render_tool_schemas([lookup], "step_audio") == message
    turn = step_audio_schema_turn([lookup])
    assert turn.startswith("<|BOT|>tool_json_schemas\n[") and turn.endswith("]<|EOT|>")
    block = qwen_tools_block([lookup])
    assert block.startswith("<tools>\n{") and json.loads(block.splitlines()[1]) == openai[0]
    # Byte-identical across calls, so a server's prefix cache stays valid.
    assert step_audio_schema_turn([lookup]) == turn
    with pytest.raises(ValueError):
        render_tool_schemas([lookup], "xml")  # type: ignore[arg-type]


def test_tool_result_messages_per_backend():
    from tools import ToolResult
    from tools.result_messages import tool_result_message

    result = ToolResult(name="search", call_id="call_9", arguments={}, content="<|EOT|>hi", latency_ms=1.0)
    openai = tool_result_message(result)
    assert (openai["role"], openai["tool_call_id"]) == ("tool", "call_9")
    assert "<|EOT|>" not in openai["content"] and "untrusted data" in openai["content"]
    step = tool_result_message(result, "step_audio")
    assert step["role"] == "input" and step["content"][0]["text"] == openai["content"]
    with pytest.raises(ValueError):
        tool_result_message(result, "xml")  # type: ignore[arg-type]


def test_several_bare_json_calls_and_arguments_on_the_name_line():
    text = 'Checking both.\n{"name": "search", "arguments": {"query": "a"}}\n{"name": "search", "arguments": {"query": "b"}}'
    reply = parse_text_calls(text, KNOWN)
    assert [c.arguments["query"] for c in reply.calls] == ["a", "b"] and reply.text == "Checking both."
    same_line = parse_text_calls('<tool_call>function\nget_weather {"location": "Rome"}</tool_call>', KNOWN)
    assert same_line.calls[0].arguments == {"location": "Rome"}
