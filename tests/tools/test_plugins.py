"""Entry-point plugins: the example package installs and is discovered; broken plugins are
reported by name without stopping the others."""

import importlib.metadata as metadata
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from tools import ToolRegistry, get_date_time
from tools.plugins import ENTRY_POINT_GROUP, PluginLoadError, as_tools, load_plugins, plugin_entry_points


PLUGIN_MODULE = '''
from langchain_core.tools import tool as lc_tool
from tools import tool

@tool
def shout(text: str) -> str:
    """Upper-case text."""
    return text.upper()

@tool(name="get_date_time")
def fake_clock() -> str:
    """Clashes with the built-in."""
    return "never"

@lc_tool
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())

def explode():
    raise RuntimeError("plugin bug")

def nested():
    return lambda: [shout]

NOT_A_TOOL = 42
'''

ENTRY_POINTS = {
    "single": "fake_plugins:shout",
    "langchain": "fake_plugins:word_count",
    "clash": "fake_plugins:fake_clock",
    "explodes": "fake_plugins:explode",
    "wrong_type": "fake_plugins:NOT_A_TOOL",
    "no_module": "no_such_module_xyz:tools",
    "no_attr": "fake_plugins:missing",
    "nested_factory": "fake_plugins:nested",
}


@pytest.fixture
def fake_distribution(tmp_path, monkeypatch):
    """A dist-info folder on sys.path, the way an installed package looks to importlib.metadata."""
    (tmp_path / "fake_plugins.py").write_text(PLUGIN_MODULE)
    info = tmp_path / "fake_plugins-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plugins\nVersion: 1.0\n")
    lines = "\n".join(f"{name} = {target}" for name, target in ENTRY_POINTS.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("fake_plugins", None)


async def test_good_plugins_load_and_broken_ones_are_named(fake_distribution):
    registry = ToolRegistry([get_date_time])
    # Only the fake distribution's entry points (stepvox's own plugins are installed too).
    report = load_plugins(registry, entry_points=[
        ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)
        if ep.dist is not None and ep.dist.name == "fake-plugins"])
    assert report.loaded == {"langchain": ["word_count"], "single": ["shout"]}
    assert sorted(registry.names) == ["get_date_time", "shout", "word_count"]
    errors = {e.plugin: e for e in report.errors}
    assert set(errors) == {"clash", "explodes", "wrong_type", "no_module", "no_attr", "nested_factory"}
    assert all(isinstance(e, PluginLoadError) and e.distribution == "fake-plugins" for e in report.errors)
    assert "plugin bug" in str(errors["explodes"]) and "'explodes'" in str(errors["explodes"])
    assert "already registered" in errors["clash"].reason
    assert "int" in errors["wrong_type"].reason
    assert "ModuleNotFoundError" in errors["no_module"].reason
    assert (await registry.invoke("shout", {"text": "hi"})).content == "HI"
    assert (await registry.invoke("word_count", {"text": "a b c"})).content == "3"


def test_enabled_limits_which_plugins_load(fake_distribution):
    registry = ToolRegistry()
    report = load_plugins(registry, enabled=["single"])
    assert registry.names == ["shout"] and report.errors == []


def test_as_tools_accepts_tools_lists_and_factories(fake_distribution):
    import fake_plugins

    assert as_tools(fake_plugins.shout) == [fake_plugins.shout]
    assert [t.name for t in as_tools([fake_plugins.shout, fake_plugins.word_count])] == ["shout", "word_count"]
    assert as_tools(lambda: fake_plugins.shout) == [fake_plugins.shout]
    with pytest.raises(TypeError):
        as_tools([fake_plugins.shout, "nope"])


def test_a_plugin_with_two_tools_of_one_name_adds_none():
    from tools import tool

    @tool(name="twin")
    def a() -> str:
        """A."""
        return "a"

    @tool(name="twin")
    def b() -> str:
        """B."""
        return "b"

    # An EntryPoint is frozen; load() is replaced on a subclass for the test.
    fake_ep = type("FakeEP", (metadata.EntryPoint,), {"load": lambda self: [a, b]})
    registry = ToolRegistry()
    report = load_plugins(registry, entry_points=[fake_ep("twins", "x:y", ENTRY_POINT_GROUP)])
    assert len(registry) == 0 and report.errors[0].plugin == "twins"
    assert "'twin'" in report.errors[0].reason


async def test_the_example_plugin_installs_and_is_discovered(installed_example):
    assert "weather_extras" in [ep.name for ep in plugin_entry_points()]
    registry = ToolRegistry()
    report = load_plugins(registry, enabled=["weather_extras"])
    assert report.errors == [] and report.loaded == {"weather_extras": ["forecast", "feels_like", "what_to_wear"]}
    felt = await registry.invoke("feels_like", {"temperature_c": -5, "wind_kmh": 30})
    assert felt.content == "It feels like -13 degrees Celsius."
    wear = await registry.invoke("what_to_wear", {"feels_like_c": 15, "rain": "likely"})
    assert wear.content == "Wear a light jacket or sweater and an umbrella."
    bad = await registry.invoke("what_to_wear", {"feels_like_c": 15, "rain": "torrential"})
    assert bad.is_error and "rain" in bad.content
