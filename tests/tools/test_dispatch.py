"""Dispatch of one turn's calls: concurrency, approval, the slow-call signal, cancellation."""

import asyncio
import time

import pytest

from tools import ParsedToolCall, ToolRegistry, tool
from tools.dispatch import dispatch_calls, filler_sentence
from tools.calls.parsed import MalformedToolCall

started: list[str] = []
finished: list[str] = []


@tool(filler="Let me check the weather in {location}.")
async def get_weather(location: str) -> str:
    """Weather."""
    started.append("weather")
    await asyncio.sleep(0.3)
    finished.append("weather")
    return f"sunny in {location}"


@tool
async def quick(x: int) -> int:
    """Quick."""
    started.append("quick")
    finished.append("quick")
    return x * 2


@tool(requires_approval=True, safe_to_repeat=False)
async def refund(order_id: str) -> str:
    """Refund an order."""
    started.append("refund")
    finished.append("refund")
    return f"refunded {order_id}"


@pytest.fixture(autouse=True)
def _reset():
    started.clear()
    finished.clear()


REGISTRY = ToolRegistry([get_weather, quick, refund])


def call(name, **arguments):
    return ParsedToolCall(name=name, arguments=arguments)


async def test_calls_run_concurrently_and_results_keep_call_order():
    calls = [call("get_weather", location="Paris"), call("get_weather", location="Rome"), call("quick", x=2)]
    t0 = time.perf_counter()
    results = await dispatch_calls(REGISTRY, calls)
    assert time.perf_counter() - t0 < 0.55  # two 0.3 s calls overlapped
    assert [r.content for r in results] == ["sunny in Paris", "sunny in Rome", "4"]
    assert [r.call_id for r in results] == [c.id for c in calls]


async def test_slow_calls_trigger_the_filler_signal_once_with_the_pending_calls():
    slow_seen = []
    calls = [call("quick", x=1), call("get_weather", location="Oslo")]
    results = await dispatch_calls(REGISTRY, calls, on_slow=slow_seen.append, slow_after_s=0.05)
    assert [[c.name for c in batch] for batch in slow_seen] == [["get_weather"]]
    assert filler_sentence(REGISTRY, slow_seen[0]) == "Let me check the weather in Oslo."
    assert not any(r.is_error for r in results)


async def test_fast_calls_do_not_trigger_the_filler():
    slow_seen = []
    await dispatch_calls(REGISTRY, [call("quick", x=1)], on_slow=slow_seen.append, slow_after_s=0.2)
    assert slow_seen == []


def test_filler_falls_back_to_a_generic_phrase():
    assert filler_sentence(REGISTRY, [call("quick", x=1)]) == "One moment, please."
    assert filler_sentence(REGISTRY, [call("get_weather")]) == "One moment, please."  # missing argument
    assert filler_sentence(REGISTRY, [call("nope")]) == "One moment, please."


async def test_approval_is_asked_in_order_before_anything_runs():
    asked = []

    async def approve(c, t):
        asked.append((c.arguments["order_id"], list(started)))
        return c.arguments["order_id"] == "A1"

    calls = [call("quick", x=1), call("refund", order_id="A1"), call("refund", order_id="B2")]
    results = await dispatch_calls(REGISTRY, calls, approve=approve)
    assert asked == [("A1", []), ("B2", [])]
    assert results[1].content == "refunded A1"
    assert results[2].is_error and "did not approve" in results[2].content
    assert started.count("refund") == 1


async def test_without_an_approver_approval_tools_are_refused():
    (result,) = await dispatch_calls(REGISTRY, [call("refund", order_id="A1")])
    assert result.is_error and started == []


async def test_malformed_and_unknown_calls_become_error_results():
    bad = MalformedToolCall(name="quick", raw="{x:", message="invalid JSON")
    results = await dispatch_calls(REGISTRY, [bad, call("nope"), call("quick", x="two")])
    assert [r.is_error for r in results] == [True, True, True]
    assert results[0].call_id == bad.id and "could not be read" in results[0].content
    assert "no tool named 'nope'" in results[1].content


async def test_cancellation_cancels_running_calls_and_they_never_finish():
    task = asyncio.ensure_future(dispatch_calls(
        REGISTRY, [call("get_weather", location="A"), call("get_weather", location="B")],
        on_slow=lambda pending: None, slow_after_s=0.05))
    await asyncio.sleep(0.1)
    assert started == ["weather", "weather"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.4)
    assert finished == []
