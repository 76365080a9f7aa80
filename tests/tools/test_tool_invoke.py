"""Running tools: validation errors, failures, timeouts and cancellation become results or
propagate exactly as documented."""

import asyncio
import threading
import time

import pytest
from pydantic import BaseModel

from tools import ToolArgumentsError, ToolResult, tool


@tool
def add(a: int, b: int = 1) -> int:
    """Add two integers."""
    return a + b


async def test_sync_tool_runs_in_a_worker_thread_and_records_the_call():
    loop_thread = threading.get_ident()

    @tool
    def where(tag: str) -> str:
        """Report the thread."""
        return f"{tag}:{threading.get_ident() != loop_thread}"

    result = await where.invoke({"tag": "x"}, call_id="call_1")
    assert result == ToolResult(
        name="where",
        call_id="call_1",
        arguments={"tag": "x"},
        content="x:True",
        is_error=False,
        latency_ms=result.latency_ms,
    )
    assert result.latency_ms >= 0.0


async def test_async_tool_and_json_string_arguments():
    @tool
    async def shout(text: str) -> str:
        """Upper-case text."""
        await asyncio.sleep(0)
        return text.upper()

    result = await shout.invoke('{"text": "héllo"}')
    assert (result.is_error, result.content) == (False, "HÉLLO")
    assert result.arguments == {"text": "héllo"}


async def test_recorded_arguments_include_defaults():
    result = await add.invoke({"a": 2})
    assert result.arguments == {"a": 2, "b": 1}
    assert result.content == "3"


@pytest.mark.parametrize("empty", [None, "", "  ", {}])
async def test_no_arguments_for_a_tool_without_parameters(empty):
    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    result = await ping.invoke(empty)
    assert (result.is_error, result.content) == (False, "pong")


async def test_return_values_become_text():
    class Forecast(BaseModel):
        city: str
        temps: list[int]

    @tool
    def render(kind: str) -> object:
        """Return a value of the given kind."""
        return {
            "model": Forecast(city="Zürich", temps=[3, 5]),
            "dict": {"city": "Zürich", "ok": True, "nested": [Forecast(city="A", temps=[])]},
            "list": [1, "ü", None],
            "number": 2.5,
            "none": None,
        }[kind]

    expected = {
        "model": '{"city":"Zürich","temps":[3,5]}',
        "dict": '{"city":"Zürich","ok":true,"nested":[{"city":"A","temps":[]}]}',
        "list": '[1,"ü",null]',
        "number": "2.5",
        "none": "null",
    }
    for kind, content in expected.items():
        assert (await render.invoke({"kind": kind})).content == content, kind


async def test_wrong_type_is_reported_with_argument_and_expected_type():
    # Tried: a = "three" (a word, not an integer).
    result = await add.invoke({"a": "three"})
    assert result.is_error
    assert "argument 'a'" in result.content
    assert 'got "three"' in result.content
    assert "expected integer" in result.content
    assert result.arguments == {"a": "three"}  # what the model sent, for the record


async def test_missing_required_argument_is_named():
    # Tried: {} for a tool whose `a` is required.
    result = await add.invoke({})
    assert result.is_error
    assert "argument 'a': missing required argument; expected integer." in result.content


async def test_extra_argument_is_rejected_and_accepted_names_listed():
    # Tried: an invented argument `c` next to valid ones.
    result = await add.invoke({"a": 1, "c": 2})
    assert result.is_error
    assert "argument 'c': unexpected argument; this tool accepts: a, b." in result.content


async def test_malformed_json_string_is_reported():
    # Tried: a truncated JSON object.
    result = await add.invoke('{"a": 1,')
    assert result.is_error
    assert "not valid JSON" in result.content
    assert '{"a": 1,' in result.content  # the model sees what it sent
    assert result.arguments == {}


async def test_json_list_instead_of_object_is_reported():
    # Tried: a JSON array of positional values.
    result = await add.invoke("[1, 2]")
    assert result.is_error
    assert "must be a JSON object with named arguments, but got a list: [1, 2]" in result.content


async def test_nested_error_location_and_several_problems_at_once():
    @tool
    def total(values: list[int], scale: float = 1.0) -> float:
        """Scaled sum."""
        return sum(values) * scale

    # Tried: a non-integer list element and a non-number scale in one call.
    result = await total.invoke({"values": [1, "two"], "scale": "big"})
    lines = result.content.splitlines()
    assert lines[0] == "The arguments for tool 'total' are invalid:"
    assert any(line.startswith("- argument 'values[1]':") and "expected integer" in line for line in lines)
    assert any(line.startswith("- argument 'scale':") and "expected number" in line for line in lines)
    assert lines[-1] == "Call 'total' again with corrected arguments."


def test_validate_raises_tool_arguments_error_with_tool_name():
    # Tried: b = [] (a list where an integer is expected).
    with pytest.raises(ToolArgumentsError) as info:
        add.validate({"a": 1, "b": []})
    assert info.value.tool_name == "add"
    assert "argument 'b'" in str(info.value)
    assert add.validate('{"a": 5}').model_dump() == {"a": 5, "b": 1}


async def test_exception_in_tool_becomes_an_error_result():
    @tool
    def fail(city: str) -> str:
        """Always fails."""
        raise LookupError(f"no weather station in {city}")

    result = await fail.invoke({"city": "Atlantis"})
    assert result.is_error
    assert result.content == "LookupError: no weather station in Atlantis"
    assert result.arguments == {"city": "Atlantis"}


async def test_exception_without_message_is_just_its_type():
    @tool
    async def fail() -> None:
        """Fails quietly."""
        raise RuntimeError

    assert (await fail.invoke()).content == "RuntimeError"


async def test_async_timeout_cancels_the_coroutine():
    cancelled = asyncio.Event()

    @tool(timeout_s=0.05)
    async def slow() -> str:
        """Sleeps too long."""
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "done"

    started = time.perf_counter()
    result = await slow.invoke()
    elapsed = time.perf_counter() - started
    assert result.is_error
    assert result.content == "Tool 'slow' timed out after 0.05s."
    assert cancelled.is_set()  # the coroutine was really stopped, not abandoned
    assert 0.04 <= elapsed < 1.0


async def test_sync_timeout_returns_while_the_thread_finishes_in_the_background():
    # A thread cannot be interrupted: invoke() gives up waiting after timeout_s and reports
    # an error, and the function keeps running in its worker thread until it returns.
    finished = threading.Event()

    @tool(timeout_s=0.05)
    def blocking() -> str:
        """Blocks the thread."""
        time.sleep(0.5)
        finished.set()
        return "done"

    started = time.perf_counter()
    result = await blocking.invoke()
    elapsed = time.perf_counter() - started
    assert result.is_error
    assert "timed out after 0.05s" in result.content
    assert 0.04 <= elapsed < 0.4
    assert not finished.is_set()  # still running in the background
    assert await asyncio.to_thread(finished.wait, 5.0)  # and it does finish on its own


async def test_timeout_error_raised_by_the_tool_is_not_reported_as_our_timeout():
    @tool(timeout_s=5)
    async def flaky() -> None:
        """A client library timing out by itself."""
        raise TimeoutError("upstream took too long")

    result = await flaky.invoke()
    assert result.is_error
    assert result.content == "TimeoutError: upstream took too long"


async def test_timeout_none_means_no_limit():
    @tool(timeout_s=None)
    async def quick() -> str:
        """Quick."""
        await asyncio.sleep(0.01)
        return "ok"

    assert (await quick.invoke()).content == "ok"


async def test_cancelling_the_invoking_task_propagates_for_async_tools():
    started = asyncio.Event()
    saw_cancel = asyncio.Event()

    @tool(timeout_s=30)
    async def long_running() -> str:
        """Runs until cancelled."""
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            saw_cancel.set()
            raise
        return "done"

    task = asyncio.create_task(long_running.invoke())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert saw_cancel.is_set()


async def test_cancelling_the_invoking_task_propagates_for_sync_tools():
    started = threading.Event()
    release = threading.Event()

    @tool(timeout_s=30)
    def waiting() -> str:
        """Blocks until released."""
        started.set()
        release.wait(5)
        return "done"

    task = asyncio.create_task(waiting.invoke())
    assert await asyncio.to_thread(started.wait, 5.0)
    task.cancel()
    try:
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        release.set()  # let the worker thread end
