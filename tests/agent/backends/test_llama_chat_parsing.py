"""Parsing what the llama.cpp model writes: `parse_call`, and how `LlamaCppChatModel.stream`
tells text from a tool call.

`stream` is driven by a fake in place of `llama_cpp.Llama` (no model is loaded), which hands
out scripted completion chunks from the worker thread exactly like llama-cpp-python does.
"""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from agent import (
    ChatMessage, ModelBackendError, ModelDone, TextDelta, ToolCall, ToolCallEvent, ToolCallPending,
)
from agent.backends.llama_cpp.chatml_prompt import arguments_grammar, call_head, render_prompt, render_turn_prompt
from agent.backends.llama_cpp.calls import ground_call, parse_call
from agent.backends.llama_cpp.chat import LlamaCppChatModel
from tools import get_date_time

# --------------------------------------------------------------------------------- parse_call


def test_parse_call_reads_bare_json():
    call = parse_call('{"name": "get_date_time", "arguments": {"timezone": "Asia/Tokyo"}}')
    assert isinstance(call, ToolCall)
    assert (call.name, call.arguments) == ("get_date_time", {"timezone": "Asia/Tokyo"})
    assert call.id.startswith("call_")


def test_parse_call_strips_the_tool_call_wrapper_and_whitespace():
    text = ' \n<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}} \n</tool_call>\n'
    call = parse_call(text)
    assert (call.name, call.arguments) == ("add", {"a": 1, "b": 2})


@pytest.mark.parametrize("text", [
    '{"name": "ping", "arguments": {}}',
    '{"name": "ping", "arguments": null}',
    '{"name": "ping"}',
], ids=["empty-object", "null", "missing"])
def test_parse_call_without_arguments_gives_an_empty_dict(text):
    assert parse_call(text).arguments == {}


def test_every_parsed_call_gets_its_own_id():
    text = '{"name": "ping", "arguments": {}}'
    assert parse_call(text).id != parse_call(text).id


@pytest.mark.parametrize("text", [
    '{"name": "get_date_time", "arguments": {"timez',
    '<tool_call>\n{"name": "add", "argu',
    '{"name": "add", "arguments": {"a": 1}',
], ids=["bare-cut-in-a-key", "wrapped-cut", "missing-last-brace"])
def test_a_cut_off_call_is_a_model_backend_error(text):
    with pytest.raises(ModelBackendError, match="cut off"):
        parse_call(text)


def test_a_call_cut_off_in_a_looping_list_keeps_the_lists_distinct_items():
    # Input tried: what the 0.5B wrote for BFCL v4 parallel_multiple (a hotel booking) until
    # max_tokens ran out, greedy decoding looping in a list.
    text = ('{"name": "hotel_book", "arguments": {"location": "Paris", "additional_services": '
            '["breakfast", "compact car", "compact car", "compact car", "compact c')
    call = parse_call(text)
    assert call.name == "hotel_book"
    assert call.arguments == {"location": "Paris",
                              "additional_services": ["breakfast", "compact car"]}


def test_a_looping_list_of_objects_inside_a_list_closes_every_bracket():
    text = ('{"name": "plan", "arguments": {"legs": [{"to": "Rome", "tags": ["a", "a"]}, '
            '{"to": "Rome", "tags": ["a", "a"]}, {"to": "Ro')
    assert parse_call(text).arguments == {"legs": [{"to": "Rome", "tags": ["a", "a"]}]}


@pytest.mark.parametrize("text", [
    '{"name": "add", "arguments": {"xs": [1, 2, 3, 4',          # a long list, no repeat
    '{"name": "add", "arguments": {"note": "[1, 1, 1',          # the brackets are in a string
    '{"name": "add", "arguments": {"xs": [1, 1], "note": "cut',  # the repeat is in a closed list
], ids=["no-repeat", "in-a-string", "closed-list"])
def test_a_cut_off_call_without_a_looping_open_list_stays_an_error(text):
    with pytest.raises(ModelBackendError, match="cut off"):
        parse_call(text)


# --------------------------------------------------------------------------------- stream


class FakeLlama:
    """Stands in for `llama_cpp.Llama`: `create_completion(..., stream=True)` yields chunks."""

    def __init__(self, pieces, *, finish_reason="stop", fail_after=None, chunk_delay_s=0.0):
        self.pieces = list(pieces)
        self.finish_reason = finish_reason
        self.fail_after = fail_after
        self.chunk_delay_s = chunk_delay_s
        self.requests: list[tuple[str, dict]] = []
        self.produced = 0
        self.closed = threading.Event()

    def create_completion(self, prompt, **kwargs):
        self.requests.append((prompt, kwargs))
        return self._chunks()

    def n_ctx(self) -> int:  # the prompt-fitting check asks for it
        return 4096

    def tokenize(self, text: bytes, special: bool = False) -> list[int]:
        return list(range(len(text.split())))  # a word a token is enough to fit prompts

    def _chunks(self):
        try:
            for i, piece in enumerate(self.pieces):
                if self.fail_after is not None and i == self.fail_after:
                    raise RuntimeError("llama_decode returned -1")
                if self.chunk_delay_s:
                    time.sleep(self.chunk_delay_s)
                self.produced += 1
                last = i == len(self.pieces) - 1
                yield {"choices": [{"text": piece,
                                    "finish_reason": self.finish_reason if last else None}]}
        finally:
            self.closed.set()


def fake_model(llm: FakeLlama) -> LlamaCppChatModel:
    """A LlamaCppChatModel around a fake Llama (bypasses __init__, which loads a GGUF)."""
    model = LlamaCppChatModel.__new__(LlamaCppChatModel)
    model._llm = llm
    model.name = "llama.cpp:fake"
    model.temperature, model.top_p, model.max_tokens = 0.3, 0.9, 160
    model._lock = threading.Lock()
    model._grammars = {}
    model._call_starts = [91, 151657]  # stand-ins for "{" and "<tool_call>"
    model._banned = {91: -100.0, 151657: -100.0, 73594: -100.0}  # ... and "```"
    model._digit_ids = [15, 16]  # stand-ins for "0" and "1"
    model.tool_call_threshold = 0.88
    model._last_features = None
    model.estimate_turn_end = False  # reads llama.cpp's logits (tests/agent/backends/test_turn_end_odds.py)
    # The real decision reads llama.cpp's logits; the fake script says what the model does.
    model.wants_tool_call = lambda messages, tools, prompt, **_: bool(llm.pieces) and \
        llm.pieces[0].lstrip()[:1] in ("{", "<")
    # Further calls read the real model's odds too (tests/agent/backends/test_more_calls.py); the
    # scripted fake ends its turn after one call.
    model._further_calls = lambda *args, **kwargs: None
    return model


MESSAGES = [ChatMessage(role="system", content="You are terse."),
            ChatMessage(role="user", content="What time is it?")]


async def collect(model, tools=(), tool_choice="auto"):
    return [e async for e in model.stream(MESSAGES, tools, tool_choice=tool_choice)]


async def test_text_streams_as_deltas_in_order_and_ends_with_model_done():
    llm = FakeLlama(["It", " is", " noon", "."], finish_reason="stop")
    events = await collect(fake_model(llm))
    assert events[:-1] == [TextDelta("It"), TextDelta(" is"), TextDelta(" noon"), TextDelta(".")]
    assert events[-1] == ModelDone(finish_reason="stop")
    prompt, kwargs = llm.requests[0]
    assert prompt == render_prompt(MESSAGES, [])
    assert kwargs["stream"] is True and "<|im_end|>" in kwargs["stop"]
    assert kwargs["grammar"] is None  # no tools: no grammar at all


async def test_a_reply_cut_by_max_tokens_reports_length():
    events = await collect(fake_model(FakeLlama(["It", " is"], finish_reason="length")))
    assert events[-1] == ModelDone(finish_reason="length")


UTC_QUESTION = [MESSAGES[0], ChatMessage(role="user", content="What time is it in UTC?")]


async def test_a_tool_calls_arguments_are_buffered_and_parsed_never_streamed_as_text():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    llm = FakeLlama(['{"time', 'zone": ', '"UTC"}', "}"])  # after the head the backend wrote
    events = [e async for e in fake_model(llm).stream(
        UTC_QUESTION, [get_date_time.openai_schema()], tool_choice="auto")]
    # The decision is announced before the arguments are written, then the whole call.
    assert [type(e) for e in events] == [ToolCallPending, ToolCallEvent, ModelDone]
    assert events[0].name == "get_date_time"
    call = events[1].call
    assert (call.name, call.arguments) == ("get_date_time", {"timezone": "UTC"})


@pytest.mark.parametrize("answer", ['{"city": "Oslo"}', "<b>Oslo</b>"])
async def test_without_tools_an_answer_opening_like_a_call_is_text(answer):
    # Input tried: no tools offered (a summary, fact extraction) and an answer that starts
    # with "{" or "<". Nothing is banned then, and nothing can be a call: it is text.
    events = await collect(fake_model(FakeLlama([answer[:3], answer[3:]])))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == answer
    assert not [e for e in events if isinstance(e, ToolCallEvent)]


async def test_a_cut_off_tool_call_in_the_stream_is_a_model_backend_error():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    llm = FakeLlama(['{"timezone": "U'], finish_reason="length")
    with pytest.raises(ModelBackendError, match="cut off"):
        [e async for e in fake_model(llm).stream(
            UTC_QUESTION, [get_date_time.openai_schema()], tool_choice="auto")]


async def test_a_failing_generation_is_a_model_backend_error():
    llm = FakeLlama(["It", " is", " noon"], fail_after=1)
    seen = []
    with pytest.raises(ModelBackendError, match="llama_decode returned -1"):
        async for event in fake_model(llm).stream(MESSAGES):
            seen.append(event)
    assert seen == [TextDelta("It")]


async def test_closing_the_stream_early_stops_the_generation():
    llm = FakeLlama([f" word{i}" for i in range(2000)], chunk_delay_s=0.001)
    stream = fake_model(llm).stream(MESSAGES)
    first = [await anext(stream) for _ in range(3)]
    assert all(isinstance(e, TextDelta) for e in first)
    await stream.aclose()
    # aclose waits for the worker: the generation has already ended and was closed.
    assert llm.closed.is_set()
    produced = llm.produced
    await asyncio.sleep(0.05)
    assert llm.produced == produced < 2000


async def test_a_reader_that_pauses_pauses_the_decoding():
    # Tried: a reader that takes one piece and then waits (the speaking node while the first
    # chunk is synthesized): the model thread decodes nothing more until it reads again
    # (at most one piece ahead, when an estimate came before the text).
    llm = FakeLlama([f" word{i}" for i in range(200)], chunk_delay_s=0.001)
    stream = fake_model(llm).stream(MESSAGES)
    first = await anext(stream)
    await asyncio.sleep(0.3)  # 200 pieces would take ~0.2 s unread
    assert llm.produced <= 2, llm.produced
    rest = [e async for e in stream]  # reading again lets it finish
    assert llm.produced == 200 and isinstance(rest[-1], ModelDone)
    texts = [e.text for e in [first, *rest] if isinstance(e, TextDelta)]
    assert texts == [f" word{i}" for i in range(200)]


async def test_text_runs_without_a_grammar_and_can_never_open_a_call():
    """Text is generated free (a grammar halves llama.cpp's decoding speed) but with every
    call-opening and code-fence token banned, for tool_choice "auto" and "none" alike."""
    tools = [get_date_time.openai_schema()]
    llm = FakeLlama(["It", " is noon."])
    model = fake_model(llm)
    for choice in ("none", "auto"):
        events = await collect(model, tools, choice)
        assert [e.text for e in events if isinstance(e, TextDelta)] == ["It", " is noon."]
    for prompt, kwargs in llm.requests:
        assert kwargs["grammar"] is None
        # Call openers and fences at every step; a digit only as the answer's first token.
        assert banned_steps(kwargs) == [{91, 151657, 73594, 15, 16}, {91, 151657, 73594}]
        # The tools stay in the prompt even when calling them is forbidden (stable prefix);
        # the user's turn carries the note that a spoken answer is due, and with "auto" the
        # text continues from exactly the prompt the call decision evaluated (no re-prefill).
        assert prompt == render_turn_prompt(MESSAGES, tools)
        assert prompt.startswith(render_prompt(MESSAGES[:1], tools).removesuffix(
            "<|im_start|>assistant\n"))


def banned_steps(kwargs: dict, steps: int = 2) -> list[set[int]]:
    """The token ids the text request's logits processor rules out, step by step."""
    (process,) = kwargs["logits_processor"]
    out = []
    for _ in range(steps):
        scores = process(np.zeros(1, dtype=np.intc), np.zeros(151_700, dtype=np.float32))
        out.append({int(i) for i in np.flatnonzero(np.isneginf(scores))})
    return out


async def test_without_tools_no_call_opener_is_banned():
    llm = FakeLlama(["Hello."])
    await collect(fake_model(llm))
    assert banned_steps(llm.requests[0][1]) == [{15, 16}, set()]
    assert llm.requests[0][1]["grammar"] is None


async def test_an_answer_after_a_tool_result_may_open_with_a_digit():
    call = ToolCall(id="c1", name="get_date_time", arguments={})
    messages = [ChatMessage(role="system", content="You are terse."),
                ChatMessage(role="user", content="What time is it?"),
                ChatMessage(role="assistant", tool_calls=[call]),
                ChatMessage(role="tool", content='{"time": "15:45"}', tool_call_id="c1",
                            name="get_date_time")]
    llm = FakeLlama(["3:45 PM."])
    model = fake_model(llm)
    model.wants_tool_call = lambda *a, **k: False
    events = [e async for e in model.stream(messages, [get_date_time.openai_schema()])]
    assert events
    assert banned_steps(llm.requests[0][1]) == [{91, 151657, 73594}] * 2


async def test_tool_choice_none_never_asks_for_a_call():
    tools = [get_date_time.openai_schema()]
    llm = FakeLlama(['{"name": "get_date_time", "arguments": {}}'])
    model = fake_model(llm)
    asked = []
    model.wants_tool_call = lambda *a: asked.append(a) or True
    await collect(model, tools, "none")
    assert asked == []
    assert llm.requests[0][1]["grammar"] is None


async def test_a_tool_call_writes_the_chosen_tools_head_and_generates_only_its_arguments():
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    tools = [get_date_time.openai_schema()]
    llm = FakeLlama(['{"timezone": ', '"Tokyo"}', "}"])
    model = fake_model(llm)
    messages = [MESSAGES[0], ChatMessage(role="user", content="What time is it in Tokyo?")]
    events = [e async for e in model.stream(messages, tools, tool_choice="auto")]
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    # The model wrote the city; the call carries it in the tool's own form.
    assert [(c.call.name, c.call.arguments) for c in calls] == [("get_date_time",
                                                                {"timezone": "Asia/Tokyo"})]
    assert not [e for e in events if isinstance(e, TextDelta)]
    prompt, kwargs = llm.requests[0]
    # The name is written into the prompt, not generated: only the arguments follow.
    assert prompt == render_turn_prompt(messages, tools) + call_head("get_date_time")
    assert isinstance(kwargs["grammar"], llama_cpp.LlamaGrammar)
    assert kwargs["grammar"]._grammar == arguments_grammar(tools[0])
    [e async for e in model.stream(messages, tools)]
    assert llm.requests[1][1]["grammar"] is kwargs["grammar"]  # compiled once per tool


async def test_an_optional_argument_the_user_never_said_is_dropped_from_the_call():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    tools = [get_date_time.openai_schema()]
    llm = FakeLlama(['{"timezone": "America/New_York"}', "}"])
    events = await collect(fake_model(llm), tools, "auto")  # the user asked "What time is it?"
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.name, c.arguments) for c in calls] == [("get_date_time", {})]


async def test_with_several_tools_the_chosen_one_is_called():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    weather = {"type": "function", "function": {
        "name": "get_weather", "description": "Weather now.",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                       "required": ["location"]}}}
    tools = [get_date_time.openai_schema(), weather]
    llm = FakeLlama(['{"location": "Oslo"}', "}"])
    model = fake_model(llm)
    chosen = []
    model.choose_tool = lambda messages, offered, prompt: chosen.append(offered) or offered[1]
    events = await collect(model, tools, "auto")
    assert chosen == [tools]
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    # location is required: kept although the user never said "Oslo".
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", {"location": "Oslo"})]
    assert llm.requests[0][0].endswith(call_head("get_weather"))


def test_ground_call_keeps_calls_to_tools_it_does_not_know():
    call = ToolCall(name="mystery", arguments={"x": "y"})
    assert ground_call(call, MESSAGES, [get_date_time.openai_schema()]) is call


# --- tool_choice="call:NAME": a call the honesty layer makes the model write
# (agent.honesty.forced_calls), even though the decision would answer in words.

ASKED = [ChatMessage(role="system", content="You are terse."),
         ChatMessage(role="user", content="what's the time in tokyo")]
FORCE_TOOLS = [get_date_time.openai_schema()]


async def test_a_forced_call_is_written_though_the_decision_says_words():
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    llm = FakeLlama(['{"timezone": "Asia/Tokyo"}', "}"])
    model = fake_model(llm)
    model.wants_tool_call = lambda *a, **k: False  # the decision would answer in words
    events = [e async for e in model.stream(ASKED, FORCE_TOOLS, tool_choice="call:get_date_time")]
    assert [type(e) for e in events] == [ToolCallPending, ToolCallEvent, ModelDone]
    assert events[1].call.name == "get_date_time"
    assert events[1].call.arguments == {"timezone": "Asia/Tokyo"}
    prompt, kwargs = llm.requests[0]
    assert isinstance(kwargs["grammar"], llama_cpp.LlamaGrammar)  # the tool's own grammar
    assert '"name": "get_date_time"' in prompt  # the head of that tool's call


async def test_a_forced_call_of_a_tool_not_offered_is_a_named_error():
    model = fake_model(FakeLlama(["It is 12 noon."]))
    with pytest.raises(ModelBackendError, match="names no offered tool"):
        [e async for e in model.stream(ASKED, FORCE_TOOLS, tool_choice="call:transfer_money")]
