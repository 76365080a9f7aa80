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


# --- `VoiceAgent.for_persona`, and so every `stepvox serve` session that picks a persona ---


def _base_agent(tools):
    from agent import VoiceAgent
    from fakes import ScriptedChatModel

    return VoiceAgent(ScriptedChatModel(["Hi."]), decoder=None, tools=tools)


def test_for_persona_gives_the_airline_persona_its_desk():
    # Before: a server built for the default persona (the clock only) served skyway-agent
    # sessions with the clock only, so "When is my flight? SKW123" could not be looked up.
    from tools import builtin_tools

    skyway = PersonaLibrary().get("skyway-agent")
    agent = _base_agent(builtin_tools()).for_persona(skyway)
    assert set(agent.services.tools.names) == set(skyway.allowed_tools)
    assert "get_reservation_details" in agent.services.tools.names


def test_for_persona_without_a_tool_list_keeps_the_agents_own_tools():
    from tools import Tool

    def order_status(order_id: str) -> str:
        """The delivery status of an order."""
        return "shipped"

    base = _base_agent([Tool(order_status)])
    ava = base.for_persona(Persona(name="Ava", system_prompt="You help."))
    assert ava.services.tools.names == ["order_status"]
    assert tools_for(PersonaLibrary().get("captain-bram"), base.services.tools).names == []


def test_a_persona_naming_the_agents_own_tool_gets_that_one_not_the_installed_one():
    from tools import Tool

    def get_date_time(timezone: str = "UTC") -> str:
        """The caller's own clock."""
        return "noon"

    mine = Tool(get_date_time)
    persona = Persona(name="Ava", system_prompt="You help.",
                      allowed_tools=["get_date_time", "get_weather"])
    agent = _base_agent([mine]).for_persona(persona)
    assert agent.services.tools.get("get_date_time") is mine
    assert agent.services.tools.names == ["get_date_time", "get_weather"]
