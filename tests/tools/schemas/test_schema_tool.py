"""Tools described by a JSON schema (MCP, LangChain, hand-written specs) behave like @tool."""

import asyncio

import pytest

from tools import ToolDefinitionError, ToolRegistry
from tools.schemas.schema_tool import SchemaTool

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city"],
    "additionalProperties": False,
}


async def echo(arguments):
    return arguments


async def test_valid_call_passes_the_dict_through():
    t = SchemaTool("forecast", "Forecast.", SCHEMA, echo)
    result = await t.invoke('{"city": "Oslo", "days": 2}', call_id="c1")
    assert (result.is_error, result.arguments, result.call_id) == (False, {"city": "Oslo", "days": 2}, "c1")
    assert result.content == '{"city":"Oslo","days":2}'
    assert t.openai_schema()["function"]["parameters"] == SCHEMA


async def test_invalid_arguments_are_a_readable_error():
    t = SchemaTool("forecast", "Forecast.", SCHEMA, echo)
    result = await t.invoke({"days": 0, "country": "NO"})
    assert result.is_error
    assert "argument 'city': missing required argument" in result.content
    assert "'country' was unexpected" in result.content
    assert "argument 'days'" in result.content and "again" in result.content


async def test_failures_and_timeouts_become_results():
    async def boom(arguments):
        raise RuntimeError("server said no")

    async def slow(arguments):
        await asyncio.sleep(5)

    assert (await SchemaTool("boom", "", None, boom).invoke()).content == "RuntimeError: server said no"
    timed = await SchemaTool("slow", "", {}, slow, timeout_s=0.05).invoke({})
    assert timed.is_error and "timed out" in timed.content


def test_empty_schema_becomes_an_object_and_bad_schema_is_rejected():
    t = SchemaTool("noargs", "No args.", None, echo)
    assert t.parameters_schema == {"type": "object", "properties": {}, "additionalProperties": False}
    with pytest.raises(ToolDefinitionError, match="invalid JSON schema"):
        SchemaTool("bad", "", {"type": "object", "properties": {"a": {"type": "nope"}}}, echo)
    with pytest.raises(ToolDefinitionError):
        SchemaTool("bad name!", "", None, echo)


async def test_registry_holds_schema_tools():
    registry = ToolRegistry([SchemaTool("forecast", "Forecast.", SCHEMA, echo)])
    assert (await registry.invoke("forecast", {"city": "Rome"})).content == '{"city":"Rome"}'
