"""Hostile tool arguments: `Tool.invoke` answers each with a `ToolResult` (an error result
the model can read) and never raises. The fast subset of `bench/fuzz_realtime.py`."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hostile_tool_args import HOSTILE_TOOLS, change_booking, check_result, schema_tool, tool_arguments
from tools.arguments import parse_arguments
from tools.errors import ToolArgumentsError


@settings(max_examples=400, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(st.sampled_from(HOSTILE_TOOLS), tool_arguments)
def test_any_arguments_get_a_tool_result(tool_, arguments):
    check_result(asyncio.run(tool_.invoke(arguments)), tool_)


@pytest.mark.parametrize("tool_", [change_booking, schema_tool], ids=lambda t: t.name)
@pytest.mark.parametrize("arguments", [
    '{"passengers": ' + "[" * 100_000,  # was RecursionError out of invoke
    '{"passengers": ' + "7" * 5_000 + "}",  # was ValueError (int past 4300 digits)
], ids=["nested_100000_deep", "int_of_5000_digits"])
def test_unreadable_json_arguments_are_an_error_result(tool_, arguments):
    result = check_result(asyncio.run(tool_.invoke(arguments)), tool_)
    assert result.is_error and "could not be read" in result.content
    with pytest.raises(ToolArgumentsError):
        parse_arguments(tool_.name, arguments)


def test_valid_arguments_still_run():
    result = asyncio.run(change_booking.invoke(
        {"reference": "ABC123", "passengers": 2, "seats": [{"row": 3, "letter": "A"}]}))
    assert not result.is_error and "ABC123: 2 in economy" in result.content
