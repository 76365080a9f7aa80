"""History within a token budget, with a running summary stored and updated incrementally."""

from __future__ import annotations

import pytest

from memory import DialogueTurn, ToolCallRecord
from memory.context_window import (
    ContextBudgetError, ContextWindowBuilder, approximate_tokens, fit_turns, summary_request,
    turn_tokens,
)


def turn(role: str, words: int, i: int = 0) -> DialogueTurn:
    return DialogueTurn(role=role, text=f"{role}{i} " + "word " * words)


def pairs(n: int, words: int = 20, start: int = 0) -> list[DialogueTurn]:
    return [t for i in range(start, start + n) for t in (turn("user", words, i),
                                                          turn("assistant", words, i))]


class FakeSummarizer:
    """Records what it was asked to fold; the summary lists the folded turn names."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str], int]] = []

    async def __call__(self, previous, turns, max_tokens) -> str:
        names = [t.text.split()[0] for t in turns]
        self.calls.append((previous, names, max_tokens))
        return (previous + " " + ",".join(names)).strip()


def test_fit_turns_keeps_the_newest_whole_turns_starting_at_a_user_turn():
    history = pairs(10)
    cost = turn_tokens(history[0])
    kept = fit_turns(history, budget=5 * cost)
    # 5 turns fit, but the oldest of them is an assistant turn without its question.
    assert [t.text.split()[0] for t in kept] == ["user8", "assistant8", "user9", "assistant9"]
    assert fit_turns(history, budget=cost - 1) == []
    assert fit_turns(history, budget=10**6) == history


def test_tool_calls_count_toward_a_turns_cost():
    plain = DialogueTurn(role="assistant", text="It is 12 noon.")
    with_tool = plain.model_copy(update={"tool_calls": [ToolCallRecord(
        id="1", name="get_date_time", arguments={"timezone": "UTC"}, result="x" * 400)]})
    assert turn_tokens(with_tool) >= turn_tokens(plain) + 100
    assert approximate_tokens("abcd" * 10) == 10


async def test_assemble_stays_within_budget_and_counts_what_fell_out(store):
    await store.append("c", pairs(50))
    builder = ContextWindowBuilder(store, budget_tokens=600)
    window = await builder.assemble("c", fixed_tokens=100)
    assert window.summary == "" and window.tokens <= 500
    assert window.turns[0].role == "user" and window.turns[-1].text.startswith("assistant49")
    assert window.unsummarized == 100 - len(window.turns)
    with pytest.raises(ContextBudgetError, match="over the 600-token budget"):
        await builder.assemble("c", fixed_tokens=601)


async def test_fold_writes_a_summary_and_updates_it_incrementally(store):
    summarize = FakeSummarizer()
    builder = ContextWindowBuilder(store, budget_tokens=400, summarize=summarize,
                                   summary_max_tokens=50)
    await store.append("c", pairs(10))
    assert await builder.fold("c") is not None
    first = await builder.assemble("c")
    assert first.unsummarized == 0 and first.tokens <= 400
    (previous, folded, limit), = summarize.calls
    assert previous == "" and limit == 50 and folded[0] == "user0"
    # Everything before the window is in the summary, and nothing of the window is.
    assert folded[-1] == ("assistant" if first.turns[0].role == "user" else "user") + str(
        first.turns[0].seq // 2 - (1 if first.turns[0].role == "user" else 0))
    assert first.summary == ",".join(folded)

    await store.append("c", pairs(3, start=10))
    await builder.fold("c")
    previous, refolded, _ = summarize.calls[-1]
    assert previous == first.summary  # incremental: the old summary plus only the new turns
    assert not set(refolded) & set(folded) and refolded[0] == first.turns[0].text.split()[0]
    assert await builder.fold("c") is None  # nothing new fell out of the window
    assert len(summarize.calls) == 2


async def test_prompt_size_with_and_without_a_summary_over_200_turns(store):
    """The number the issue's benchmark asks for, checked here at small scale."""
    await store.append("long", pairs(100, words=30))
    everything = sum(turn_tokens(t) for t in await store.history("long"))
    builder = ContextWindowBuilder(store, budget_tokens=1500, summarize=FakeSummarizer())
    await builder.fold("long")
    window = await builder.assemble("long")
    assert window.tokens <= 1500 < everything and window.summary
    print(f"\n200 turns: {everything} tokens whole, {window.tokens} with a summary "
          f"({len(window.turns)} turns kept)")


def test_summary_request_lists_the_new_turns():
    text = summary_request("Ann called.", pairs(1, words=2), 80)
    assert "Summary so far: Ann called." in text and "user: user0 word word" in text
