"""Shared set-up of the turn-graph tests (`tests/agent/test_graph*.py`): a real `VoiceAgent`
driven by a `ScriptedChatModel` and a `RecordingDecoder`."""

from __future__ import annotations

from datetime import UTC, datetime

from agent import TurnDoneEvent, VoiceAgent
from fakes import RecordingDecoder, ScriptedChatModel
from tools import make_get_date_time

NOON = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)  # a Friday
EXPECTED_NOON_UTC = {
    "iso": "2024-05-17T12:00:00+00:00",
    "date": "2024-05-17",
    "time": "12:00",
    "weekday": "Friday",
    "timezone": "UTC",
    "utc_offset": "+00:00",
    "spoken": "It is 12:00 PM on Friday, May 17, 2024, UTC time.",
}


def clock_tool():
    return make_get_date_time(lambda: NOON)


def make_agent(replies, *, tools=(), decoder=None, **kwargs):
    model = replies if isinstance(replies, ScriptedChatModel) else ScriptedChatModel(replies)
    decoder = decoder or RecordingDecoder()
    agent = VoiceAgent(model, decoder=decoder, tools=list(tools), **kwargs)
    return agent, model, decoder


async def run_turn(agent, text, **kwargs):
    """All events of one turn, and the reply from its TurnDoneEvent."""
    events = [e async for e in agent.stream(text, **kwargs)]
    assert isinstance(events[-1], TurnDoneEvent), "a finished turn ends with TurnDoneEvent"
    return events, events[-1].reply


def index_of(events, kind, start=0):
    return next(i for i, e in enumerate(events) if i >= start and isinstance(e, kind))


def tool_choices(model):
    return [choice for _, _, choice in model.calls]
