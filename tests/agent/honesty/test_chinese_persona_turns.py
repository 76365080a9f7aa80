"""The Chinese persona's tool turns, as heard (xiaoyue, `stepvox chat --persona xiaoyue`).

Tried as a user types it, "东京现在几点？" got an English filler, the clock called without
Tokyo's zone (the honesty layer's missed-call path never read the zone from the words), and,
after the 0.5B model twice said the question back, the English "Sorry, I found it but lost
my words". The chat model is scripted here (it stands in for the 0.5B doing exactly that);
the persona, the clock (on a fixed time), the turn graph and the MiniLM are real.
"""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

from agent import ToolCall, VoiceAgent
from agent.honesty.refusal_after_tool import NUDGE_BY_LANGUAGE, UNREAD_BY_LANGUAGE
from agent.honesty.result_readout import ready_line
from agent.turn.nodes import filler_for
from fakes import ScriptedChatModel
from personas import PersonaLibrary
from tools import ToolResult, make_get_date_time

AT = datetime(2026, 12, 5, 16, 28, tzinfo=timezone.utc)


def xiaoyue_with(model: ScriptedChatModel, embed=None) -> VoiceAgent:
    if embed is not None:
        model.tool_prior = lambda: SimpleNamespace(embed=embed)  # the embedded backend's seam
    return VoiceAgent(model, decoder=None, persona=PersonaLibrary().get("xiaoyue"),
                      tools=[make_get_date_time(lambda: AT)], learn_facts=False)


async def test_a_missed_clock_call_gets_the_zone_named_in_chinese(embed):
    # The model answers from nowhere instead of calling; the honesty layer makes the call.
    model = ScriptedChatModel(["现在是下午三点。", "东京现在是凌晨1:28。"])
    agent = xiaoyue_with(model, embed)
    events = [e async for e in agent.stream("东京现在几点？", synthesize=False)]
    calls = [e.call for e in events if type(e).__name__ == "ToolCallStartedEvent"]
    assert [(c.name, c.arguments) for c in calls] == [("get_date_time",
                                                       {"timezone": "Asia/Tokyo"})]


async def test_the_question_said_back_twice_gives_the_tools_own_chinese_line():
    model = ScriptedChatModel([ToolCall(name="get_date_time", arguments={"timezone": "Asia/Tokyo"}),
                               "东京现在几点？", "东京现在几点？"])
    reply = await xiaoyue_with(model).arespond("东京现在几点？", synthesize=False)
    assert reply.text == "现在是东京时间2026年12月6日，星期日，凌晨1:28。"
    # the second try was nudged in Chinese
    assert model.calls[-1][0][-1].content == NUDGE_BY_LANGUAGE["zh"]


def test_without_a_ready_line_the_apology_is_in_the_personas_language():
    plain = ToolResult(name="lookup", arguments={}, content="shipped", latency_ms=1.0)
    assert ready_line([plain]) is None
    assert "再问我一次" in UNREAD_BY_LANGUAGE["zh"]
    failed = ToolResult(name="get_date_time", arguments={}, content='{"spoken":"x"}',
                        is_error=True, latency_ms=1.0)
    assert ready_line([failed]) is None  # an error's text is never read out as an answer


def test_the_filler_is_chinese_for_a_chinese_persona_without_its_own_phrases():
    persona = PersonaLibrary().get("xiaoyue")
    services = SimpleNamespace(persona=persona, tools={})  # tools: not consulted
    assert filler_for(services, [ToolCall(name="get_weather")]) == "稍等，我查一下。"
