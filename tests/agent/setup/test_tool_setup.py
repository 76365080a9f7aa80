"""The CLI's agents offer the tools their persona names; the default persona gets the
offline built-ins and the plugins the user installed, never stepvox's own persona desks."""

from __future__ import annotations

from agent.setup.tools import tools_for
from personas import DEFAULT_PERSONA, Persona, PersonaLibrary


def test_the_default_persona_gets_only_the_offline_builtins():
    # Nothing but stepvox is installed here: its airline desk is for skyway-agent only.
    assert tools_for(DEFAULT_PERSONA).names == ["get_date_time"]


def test_the_default_persona_gets_an_installed_plugin(installed_example):
    assert tools_for(DEFAULT_PERSONA).names == ["get_date_time", "forecast", "feels_like",
                                                "what_to_wear"]


def test_a_persona_gets_exactly_the_tools_it_names_that_exist():
    persona = Persona(name="Ava", system_prompt="You help.",
                      allowed_tools=["get_weather", "no_such_tool"])
    assert tools_for(persona).names == ["get_weather"]


def test_a_persona_with_an_empty_list_gets_no_tools():
    assert tools_for(PersonaLibrary().get("captain-bram")).names == []


def test_every_builtin_persona_names_only_tools_that_exist():
    library = PersonaLibrary()
    for key in library.names():
        persona = library.get(key)
        offered = set(tools_for(persona).names)
        expected = ["get_date_time"] if persona.allowed_tools is None else persona.allowed_tools
        assert offered == set(expected), key
