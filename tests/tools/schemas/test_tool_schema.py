"""Schemas built from function signatures and docstrings, and functions that cannot be tools."""

import enum
from typing import Annotated, Literal, Optional

import pytest
from pydantic import BaseModel, Field

from tools import Tool, ToolDefinitionError, tool


def test_plain_arguments_with_defaults():
    @tool
    def add(a: int, b: float = 1.5, label: str = "sum", exact: bool = False) -> float:
        """Add two numbers."""
        return a + b

    assert isinstance(add, Tool)
    assert add.name == "add"
    assert add.description == "Add two numbers."
    assert add.parameters_schema == {
        "type": "object",
        "properties": {
            "a": {"type": "integer"},
            "b": {"type": "number", "default": 1.5},
            "label": {"type": "string", "default": "sum"},
            "exact": {"type": "boolean", "default": False},
        },
        "required": ["a"],
        "additionalProperties": False,
    }


def test_schema_has_no_pydantic_titles_anywhere():
    @tool
    def f(title: str, items: list[int]) -> None:
        """A property may itself be called title; only the title keywords go."""

    schema = f.parameters_schema
    assert "title" not in schema
    assert schema["properties"]["title"] == {"type": "string"}
    assert schema["properties"]["items"] == {"type": "array", "items": {"type": "integer"}}
    assert schema["required"] == ["title", "items"]


def test_optional_with_none_default_is_a_plain_optional_type():
    @tool
    def find(query: str, limit: Optional[int] = None, city: str | None = None) -> str:
        """Find things."""
        return query

    props = find.parameters_schema["properties"]
    assert props["limit"] == {"type": "integer"}
    assert props["city"] == {"type": "string"}
    assert find.parameters_schema["required"] == ["query"]
    # Omitted and explicit null both still validate to None.
    assert find.validate({"query": "x"}).limit is None
    assert find.validate({"query": "x", "limit": None}).limit is None


def test_required_optional_keeps_the_null_branch():
    @tool
    def f(note: str | None) -> None:
        """Nullable but required: the model must send it, possibly as null."""

    assert f.parameters_schema["properties"]["note"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert f.parameters_schema["required"] == ["note"]


def test_literal_and_enum_become_enums():
    class Unit(enum.Enum):
        CELSIUS = "celsius"
        FAHRENHEIT = "fahrenheit"

    @tool
    def weather(city: str, unit: Unit = Unit.CELSIUS, detail: Literal["short", "long"] = "short") -> str:
        """Weather."""
        return city

    schema = weather.parameters_schema
    assert schema["properties"]["detail"] == {"type": "string", "enum": ["short", "long"], "default": "short"}
    assert schema["properties"]["unit"] == {"$ref": "#/$defs/Unit", "default": "celsius"}
    assert schema["$defs"] == {"Unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}
    assert weather.validate({"city": "Oslo", "unit": "fahrenheit"}).unit is Unit.FAHRENHEIT


def test_list_of_int():
    @tool
    def total(values: list[int]) -> int:
        """Sum a list."""
        return sum(values)

    assert total.parameters_schema["properties"]["values"] == {"type": "array", "items": {"type": "integer"}}


def test_annotated_field_descriptions_win_over_docstring_args():
    @tool
    def greet(
        name: Annotated[str, Field(description="Who to greet.")],
        times: Annotated[int, Field(ge=1, le=3)] = 1,
        shout: bool = Field(default=False, description="All caps."),
    ) -> str:
        """Greet someone.

        Args:
            name: Docstring text that must lose to the Field description.
            times: How many times.
            shout: Also loses.
        """
        return name

    props = greet.parameters_schema["properties"]
    assert props["name"] == {"type": "string", "description": "Who to greet."}
    assert props["times"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 3,
        "default": 1,
        "description": "How many times.",
    }
    assert props["shout"] == {"type": "boolean", "default": False, "description": "All caps."}


def test_docstring_args_describe_parameters():
    @tool
    def convert(amount: float, currency: str = "EUR") -> str:
        """Convert money.

        More words that are not the description.

        Args:
            amount: The amount in US dollars.
            currency (str): ISO 4217 code
                of the target currency.
        """
        return ""

    assert convert.description == "Convert money."
    props = convert.parameters_schema["properties"]
    assert props["amount"]["description"] == "The amount in US dollars."
    assert props["currency"]["description"] == "ISO 4217 code of the target currency."


def test_single_pydantic_model_parameter_is_the_arguments_object():
    class Booking(BaseModel):
        restaurant: str = Field(description="Where.")
        people: int = 2

    @tool
    def book(request: Booking) -> str:
        """Book a table."""
        return f"{request.restaurant} for {request.people}"

    assert book.parameters_schema == {
        "type": "object",
        "properties": {
            "restaurant": {"type": "string", "description": "Where."},
            "people": {"type": "integer", "default": 2},
        },
        "required": ["restaurant"],
        "additionalProperties": False,
    }
    validated = book.validate({"restaurant": "Noma"})
    assert isinstance(validated, Booking)
    assert validated.people == 2


async def test_single_pydantic_model_parameter_is_passed_as_the_model():
    class Point(BaseModel):
        x: int
        y: int

    @tool
    async def norm(p: Point) -> int:
        """Manhattan norm."""
        return abs(p.x) + abs(p.y)

    result = await norm.invoke({"x": 3, "y": -4})
    assert (result.is_error, result.content) == (False, "7")


def test_sync_and_async_functions_give_the_same_schema():
    def lookup(key: str, default: int = 0) -> int:
        """Look up a key."""
        return default

    async def alookup(key: str, default: int = 0) -> int:
        """Look up a key."""
        return default

    assert tool(lookup).parameters_schema == tool(alookup).parameters_schema


def test_decorator_options_and_direct_call_still_works():
    @tool(name="add-numbers", description="Add.", timeout_s=2.5, requires_approval=True, safe_to_repeat=False)
    def add(a: int, b: int) -> int:
        """Ignored because description is given."""
        return a + b

    assert (add.name, add.description, add.timeout_s) == ("add-numbers", "Add.", 2.5)
    assert add.requires_approval is True
    assert add.safe_to_repeat is False
    assert add(2, 3) == 5  # the decorated function is still an ordinary callable


def test_defaults_of_bare_decorator():
    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    assert (ping.timeout_s, ping.requires_approval, ping.safe_to_repeat) == (10.0, False, True)
    assert ping.parameters_schema == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }


def test_openai_schema_shape():
    @tool
    def echo(text: str) -> str:
        """Echo text back."""
        return text

    assert echo.openai_schema() == {
        "type": "function",
        "function": {
            "name": "echo",
            "description": "Echo text back.",
            "parameters": {
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"],
                "additionalProperties": False,
            },
        },
    }


def test_parameter_names_that_clash_with_pydantic_keep_their_public_name():
    @tool
    def store(json: str, schema: int = 1, _hidden: int = 0) -> str:
        """Names pydantic would not accept as field names."""
        return f"{json}/{schema}/{_hidden}"

    assert list(store.parameters_schema["properties"]) == ["json", "schema", "_hidden"]
    assert store.validate({"json": "a", "schema": 2, "_hidden": 3}) is not None


def test_parameters_schema_is_a_copy():
    @tool
    def f(a: int) -> int:
        """F."""
        return a

    f.parameters_schema["properties"].clear()
    assert "a" in f.parameters_schema["properties"]


def test_bound_method_and_string_annotations():
    class Counter:
        def __init__(self) -> None:
            self.value = 0

        def bump(self, by: "int" = 1) -> int:
            """Bump the counter."""
            self.value += by
            return self.value

    counter = Counter()
    bump = tool(counter.bump)
    assert bump.parameters_schema["properties"] == {"by": {"type": "integer", "default": 1}}


@pytest.mark.parametrize(
    ("func_source", "expected_fragment"),
    [
        ("def f(*values: int) -> None: ...", "*values"),
        ("def f(**options: int) -> None: ...", "**options"),
        ("def f(a, b: int) -> None: ...", "'a' has no type annotation"),
        ("def f(a: int, /) -> None: ...", "positional-only"),
    ],
)
def test_functions_that_cannot_become_tools(func_source, expected_fragment):
    namespace: dict = {}
    exec(func_source, namespace)  # each case tries one unsupported signature shape
    with pytest.raises(ToolDefinitionError) as info:
        tool(namespace["f"])
    assert expected_fragment in str(info.value)


def test_lambda_needs_an_explicit_name():
    # "<lambda>" is not a valid function name for a model.
    with pytest.raises(ToolDefinitionError, match="pass name="):
        tool(lambda: None)
    assert tool(name="noop")(lambda: None).name == "noop"


def test_invalid_timeout_is_rejected():
    def f() -> None:
        """F."""

    with pytest.raises(ToolDefinitionError, match="timeout_s"):
        tool(timeout_s=0)(f)  # a zero timeout would fail every call


def test_type_without_a_json_schema_is_rejected_at_definition_time():
    class Opaque:
        pass

    def f(thing: Opaque) -> None:  # an arbitrary class pydantic cannot validate
        """F."""

    with pytest.raises(ToolDefinitionError):
        tool(f)
