"""Hypothesis strategies for what a confused (or injected) model sends as tool arguments, and
two tools to send them to: a `@tool` function with typed parameters and a `SchemaTool`.

`Tool.invoke` must answer every one with a `ToolResult` (an error result the model can read
when the arguments are bad), never raise, and never return more than the tool's output
limit. Shared by `tests/tools/test_fuzz_tool_arguments.py` and `bench/fuzz_realtime.py`.
"""

from __future__ import annotations

import json
from typing import Literal

from hypothesis import strategies as st
from pydantic import BaseModel

from hostile_events import json_values
from tools import SchemaTool, ToolResult
from tools.tool import tool


class Seat(BaseModel):
    row: int
    letter: Literal["A", "B", "C", "D"]


@tool
def change_booking(reference: str, passengers: int, seats: list[Seat],
                   cabin: Literal["economy", "business"] = "economy",
                   note: str | None = None) -> str:
    """Change a booking.

    Args:
        reference: the six-letter booking reference.
        passengers: how many travel.
        seats: the seats wanted.
        cabin: the cabin class.
        note: anything for the agent.
    """
    return f"{reference}: {passengers} in {cabin}, seats {len(seats)}"


async def _echo(arguments: dict) -> str:
    return json.dumps(arguments)[:10_000]


schema_tool = SchemaTool("lookup_order", "Look an order up.", {
    "type": "object",
    "properties": {
        "order_id": {"type": "string", "pattern": "^[A-Z0-9]{6}$"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 50},
        "filters": {"type": "object", "properties": {"status": {"enum": ["open", "closed"]}}},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
    },
    "required": ["order_id"],
}, _echo)

HOSTILE_TOOLS = [change_booking, schema_tool]

_FIELDS = ["reference", "passengers", "seats", "cabin", "note", "order_id", "limit", "filters",
           "tags", "", "__proto__", "../../etc/passwd"]

argument_dicts = st.dictionaries(st.sampled_from(_FIELDS) | st.text(max_size=10), json_values,
                                 max_size=6)
tool_arguments = st.one_of(
    argument_dicts,
    argument_dicts.map(lambda d: json.dumps(d, allow_nan=True)),  # as JSON text
    json_values,  # not an object at all
    st.text(max_size=200),  # text that is rarely JSON
    st.integers(1_000, 50_000).map(lambda n: '{"passengers": ' + "[" * n),
    st.integers(4_400, 20_000).map(lambda n: '{"passengers": ' + "7" * n + "}"),
    st.integers(10_000, 300_000).map(lambda n: {"reference": "x" * n, "order_id": "y" * n}),
    st.none(),
)


def check_result(result: object, tool_) -> ToolResult:
    """The contract: a ToolResult, within the tool's output limit."""
    assert isinstance(result, ToolResult), f"invoke returned {type(result).__name__}"
    limit = tool_.max_output_chars
    if limit is not None:
        assert len(result.content) <= limit + 200, f"{len(result.content)} chars past {limit}"
    return result
