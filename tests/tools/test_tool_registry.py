"""ToolRegistry: lookup, duplicates, subsets and calls by name."""

import subprocess
import sys

import pytest

from tools import (
    DuplicateToolError,
    ToolError,
    ToolRegistry,
    UnknownToolError,
    builtin_tools,
    get_date_time,
    tool,
)


@tool
def alpha(x: int) -> int:
    """Alpha."""
    return x


@tool
async def beta(text: str) -> str:
    """Beta."""
    return text[::-1]


@tool
def gamma() -> str:
    """Gamma."""
    return "g"


def test_basic_container_behaviour():
    registry = ToolRegistry([alpha, beta])
    assert len(registry) == 2
    assert registry.names == ["alpha", "beta"]
    assert "alpha" in registry and "gamma" not in registry
    assert list(registry) == [alpha, beta]
    assert registry.get("beta") is beta
    registry.add(gamma)
    assert registry.names == ["alpha", "beta", "gamma"]


def test_duplicate_name_is_rejected_and_named():
    # Tried: adding a second, different tool that is also called "alpha".
    other_alpha = tool(name="alpha")(lambda: None)
    registry = ToolRegistry([alpha])
    with pytest.raises(DuplicateToolError, match="'alpha'") as info:
        registry.add(other_alpha)
    assert info.value.name == "alpha"
    assert registry.get("alpha") is alpha  # the first one stays
    with pytest.raises(DuplicateToolError):
        ToolRegistry([alpha, alpha])  # also when built from a list


def test_unknown_name_lists_known_tools():
    # Tried: looking up "delta", which was never registered.
    registry = ToolRegistry([alpha, beta])
    with pytest.raises(UnknownToolError) as info:
        registry.get("delta")
    assert info.value.name == "delta"
    assert info.value.known == ["alpha", "beta"]
    assert "known tools: alpha, beta" in str(info.value)
    assert isinstance(info.value, ToolError)


def test_subset_keeps_requested_order_and_ignores_repeats():
    registry = ToolRegistry([alpha, beta, gamma])
    sub = registry.subset(["gamma", "alpha", "gamma"])
    assert sub.names == ["gamma", "alpha"]
    assert sub.get("alpha") is alpha
    assert registry.names == ["alpha", "beta", "gamma"]  # the original is untouched


def test_subset_with_unknown_name_fails():
    # Tried: a persona asking for "web_search", which this registry does not have.
    registry = ToolRegistry([alpha, beta])
    with pytest.raises(UnknownToolError, match="'web_search'"):
        registry.subset(["alpha", "web_search"])


def test_openai_schemas_in_registry_order():
    schemas = ToolRegistry([beta, alpha]).openai_schemas()
    assert [s["function"]["name"] for s in schemas] == ["beta", "alpha"]
    assert schemas[1] == alpha.openai_schema()


async def test_invoke_by_name_and_unknown_name_becomes_an_error_result():
    registry = ToolRegistry([alpha, beta])
    ok = await registry.invoke("beta", {"text": "abc"}, call_id="c1")
    assert (ok.content, ok.call_id, ok.is_error) == ("cba", "c1", False)
    # Tried: a tool name the model made up.
    missing = await registry.invoke("teleport", {"to": "Mars"}, call_id="c2")
    assert missing.is_error
    assert missing.content == "There is no tool named 'teleport'. Available tools: alpha, beta."
    assert (missing.name, missing.call_id, missing.arguments) == ("teleport", "c2", {"to": "Mars"})


def test_builtin_tools():
    assert builtin_tools() == [get_date_time]
    assert ToolRegistry(builtin_tools()).names == ["get_date_time"]


def test_tools_package_imports_no_other_stepvox_package():
    # The tools layer sits below agent, speech, memory and personas; importing it must not
    # pull any of them in (a fresh interpreter, so other tests' imports do not count).
    code = (
        "import sys, tools; "
        "layers = {'agent', 'speech', 'memory', 'personas'}; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in layers); "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
