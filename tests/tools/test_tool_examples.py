"""`Tool(examples=...)`: an author's example requests, validated and offered to the decision."""

from __future__ import annotations

import pytest

from tools import ToolRegistry, tool, tool_from_function_spec
from tools.errors import ToolDefinitionError


def test_examples_are_kept_stripped_and_listed_by_the_registry():
    @tool(examples=["  book me a cab to the airport ", "i need a taxi"])
    def book_ride(destination: str) -> str:
        """Book a taxi ride."""
        return destination

    plain = tool_from_function_spec({"name": "plain", "description": "x", "parameters": {}})
    assert book_ride.examples == ("book me a cab to the airport", "i need a taxi")
    assert ToolRegistry([book_ride, plain]).examples() == {"book_ride": book_ride.examples}


@pytest.mark.parametrize("bad", ["a single string", ["ok", ""], ["ok", 3]])
def test_malformed_examples_are_a_named_definition_error(bad):
    # Tried: a bare string (would be split into letters), an empty request, a non-string.
    with pytest.raises(ToolDefinitionError, match="examples"):
        @tool(examples=bad)
        def f() -> str:
            """F."""
            return ""
