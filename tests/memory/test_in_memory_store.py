"""The in-memory history store hands out copies: a caller that edits what it read (text, the
tool calls and their arguments) never changes what the next turn reads."""

from __future__ import annotations

from memory import DialogueTurn, InMemoryDialogueStore
from memory.dialogue import ToolCallRecord


async def test_edits_to_read_turns_never_reach_the_store():
    store = InMemoryDialogueStore()
    call = ToolCallRecord(id="c1", name="get_weather", arguments={"location": "Oslo"},
                          result="5 C")
    await store.append("conv", [DialogueTurn(role="user", text="weather in Oslo?"),
                                DialogueTurn(role="assistant", text="It is 5 C.",
                                             tool_calls=[call])])
    read = await store.history("conv")
    read[0].text = "changed"
    read[1].tool_calls[0].arguments["location"] = "Paris"
    read[1].tool_calls.append(call)
    again = await store.history("conv", 2)
    assert [t.text for t in again] == ["weather in Oslo?", "It is 5 C."]
    assert [c.arguments for c in again[1].tool_calls] == [{"location": "Oslo"}]
    between = await store.turns_between("conv", -1)
    between[1].tool_calls[0].arguments.clear()
    assert (await store.history("conv"))[1].tool_calls[0].arguments == {"location": "Oslo"}
