"""LangChain tools are accepted as they are: schema adapted, calls through `ainvoke`."""

import pytest
from langchain_core.tools import BaseTool, StructuredTool, tool as lc_tool
from pydantic import BaseModel, Field

from tools import ToolDefinitionError, ToolRegistry, tool
from tools.adapters.langchain import from_langchain, is_langchain_tool


class Order(BaseModel):
    order_id: str = Field(description="The order number.")
    quantity: int = Field(default=1, ge=1)


def _lookup(order_id: str, quantity: int = 1) -> str:
    return f"order {order_id} x{quantity}: shipped"


class Refund(BaseTool):
    name: str = "refund order"
    description: str = "Refund an order."
    args_schema: type[BaseModel] = Order

    def _run(self, order_id: str, quantity: int = 1) -> str:
        return f"refunded {order_id}"


async def test_structured_tool_schema_and_call():
    lc = StructuredTool.from_function(_lookup, name="order_status", description="Order status.", args_schema=Order)
    wrapped = from_langchain(lc)
    params = wrapped.parameters_schema
    assert wrapped.name == "order_status" and wrapped.description == "Order status."
    assert params["required"] == ["order_id"] and params["properties"]["quantity"]["minimum"] == 1
    result = await wrapped.invoke({"order_id": "A1", "quantity": 2}, call_id="c")
    assert (result.is_error, result.content, result.call_id) == (False, "order A1 x2: shipped", "c")
    bad = await wrapped.invoke({"quantity": 0})
    assert bad.is_error and "order_id" in bad.content


async def test_base_tool_subclass_name_is_made_safe_and_flags_pass_through():
    wrapped = from_langchain(Refund(), requires_approval=True, safe_to_repeat=False)
    assert wrapped.name == "refund_order" and wrapped.requires_approval and not wrapped.safe_to_repeat
    assert (await wrapped.invoke({"order_id": "B2"})).content == "refunded B2"


async def test_decorated_async_langchain_tool_in_a_registry():
    @lc_tool
    async def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    registry = ToolRegistry([from_langchain(add)])
    assert (await registry.invoke("add", '{"a": 2, "b": 3}')).content == "5"


async def test_langchain_errors_become_results():
    def fail(x: str) -> str:
        raise ValueError("backend down")

    wrapped = from_langchain(StructuredTool.from_function(fail, name="fail", description="Fails."))
    result = await wrapped.invoke({"x": "y"})
    assert result.is_error and "backend down" in result.content


def test_only_langchain_tools_are_adapted():
    @tool
    def native() -> str:
        """Native."""
        return ""

    assert is_langchain_tool(Refund()) and not is_langchain_tool(native)
    with pytest.raises(ToolDefinitionError):
        from_langchain(native)
