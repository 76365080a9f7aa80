"""A covering tool the model did not call is called by the model when made to
(agent.honesty.forced_calls), instead of asking the caller for what the request already said.

The chat model is scripted (it stands in for the 0.5B, whose decision answered "what's apple
stock trading at" in words); the MiniLM request detector and the tool are real."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from agent import ToolCall, VoiceAgent
from fakes import ScriptedChatModel
from tools import Tool





asked: list[str] = []


def get_stock_price(symbol: str) -> str:
    """Get the live share price of a company's stock by its ticker symbol."""
    asked.append(symbol)
    return f"{symbol}: 191.20 USD, up 0.4 % today"


def agent_with(embed, *, forced: bool) -> tuple[VoiceAgent, ScriptedChatModel]:
    model = ScriptedChatModel([
        "Apple stock is trading at 150 dollars.",  # the words the decision chose: invented
        ToolCall(name="get_stock_price", arguments={"symbol": "AAPL"}),  # when made to call
        "Apple is at 191 dollars 20, up 0.4 percent today.",
    ])
    model.tool_prior = lambda: SimpleNamespace(embed=embed)
    model.supports_forced_calls = forced
    return VoiceAgent(model, decoder=None, tools=[Tool(get_stock_price)], learn_facts=False), model


async def test_the_model_is_made_to_write_the_call_it_missed(embed):
    asked.clear()
    agent, model = agent_with(embed, forced=True)
    reply = await agent.arespond("what's apple stock trading at", synthesize=False)
    assert model.calls[1][2] == "call:get_stock_price"
    assert asked == ["AAPL"]
    assert reply.text == "Apple is at 191 dollars 20, up 0.4 percent today."
    assert "150" not in reply.text  # the invented price was never spoken


async def test_without_forced_calls_the_caller_is_asked_and_nothing_invented(embed):
    asked.clear()
    agent, model = agent_with(embed, forced=False)
    reply = await agent.arespond("what's apple stock trading at", synthesize=False)
    assert asked == [] and "150" not in reply.text
    assert "symbol" in reply.text or "could you tell me" in reply.text, reply.text
