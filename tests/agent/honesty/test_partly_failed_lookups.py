"""Two calls in one turn, one answering and one failing (agent.honesty.replies.next_step).

"Did Real Madrid win on Saturday?": the small model called the clock (which answered) and
the scores tool (which timed out), then read the scores tool's error text out. The failure of
the tool that covers the request must decide the reply. The chat model is scripted (it stands
in for the 0.5B); the MiniLM detector and the tools are real.
"""

from __future__ import annotations

from types import SimpleNamespace

import asyncio
from datetime import datetime, timezone

import pytest

from agent import ToolCall, VoiceAgent
from agent.chat_model import ToolCallEvent
from fakes import ScriptedChatModel
from tools import Tool, get_date_time





async def get_sports_results(team: str) -> str:
    """Get the latest match results and live scores of a sports team."""
    await asyncio.sleep(5)
    return "never"


def agent_with(embed, reply: str, calls: list[ToolCall]) -> VoiceAgent:
    model = ScriptedChatModel([[ToolCallEvent(c) for c in calls], reply])
    model.tool_prior = lambda: SimpleNamespace(embed=embed)  # the embedded backend's MiniLM seam
    tools = [get_date_time, Tool(get_sports_results, timeout_s=0.2)]
    return VoiceAgent(model, decoder=None, tools=tools, learn_facts=False)


async def test_the_covering_tools_failure_decides_the_reply(embed):
    agent = agent_with(embed, "ERROR: Tool 'get_sports_results' timed out after 0.2s.",
                       [ToolCall(name="get_date_time", arguments={}),
                        ToolCall(name="get_sports_results", arguments={"team": "Real Madrid"})])
    reply = await agent.arespond("did real madrid win on saturday", synthesize=False)
    assert "ERROR" not in reply.text and "0.2" not in reply.text, reply.text
    assert "didn't answer in time" in reply.text, reply.text


async def test_an_incidental_failure_leaves_the_answer_alone(embed):
    # The clock answers the question; a scores call that failed beside it is not the point.
    today = f"It is {datetime.now(timezone.utc):%A}."  # the day the clock gives
    agent = agent_with(embed, today,
                       [ToolCall(name="get_date_time", arguments={}),
                        ToolCall(name="get_sports_results", arguments={"team": "Real Madrid"})])
    reply = await agent.arespond("what day of the week is it today", synthesize=False)
    assert reply.text == today
