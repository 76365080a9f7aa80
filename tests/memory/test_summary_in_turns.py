"""The context window wired into the turn: every prompt within `history_token_budget`, older
turns folded by the agent's own chat model (a scripted fake here) into a running summary,
stored, reused, updated incrementally in batches, in the background, per conversation."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
import pytest_asyncio
from fakes import ScriptedChatModel, text_deltas

from agent import VoiceAgent
from agent.chat_model import ChatMessage
from agent.turn.prompt import SUMMARY_HEADING
from memory import ContextBudgetError, InMemoryDialogueStore, SqlDialogueStore
from memory.context_window import MESSAGE_OVERHEAD_TOKENS, approximate_tokens

BUDGET = 600
LABEL = re.compile(r"\b[A-Z]-q\d+\b")  # "A-q7": conversation A, question 7


def is_summary_request(messages: list[ChatMessage]) -> bool:
    return messages[0].content.startswith("You keep the running summary")


def prompt_tokens(messages: list[ChatMessage]) -> int:
    return sum(approximate_tokens(m.content) + MESSAGE_OVERHEAD_TOKENS for m in messages)


class Model:
    """Answers turns; writes summaries that list the question labels they cover, so what a
    summary holds (and where it leaks) is checkable. Records both kinds of prompts."""

    def __init__(self, *, empty_summaries: bool = False) -> None:
        self.turn_prompts: list[list[ChatMessage]] = []
        self.summary_requests: list[str] = []
        self.empty_summaries = empty_summaries
        self.fake = ScriptedChatModel([self.reply])

    def reply(self, messages, tools, tool_choice):
        if is_summary_request(messages):
            assert tool_choice == "none" and tools == []
            request = messages[1].content
            self.summary_requests.append(request)
            if self.empty_summaries:
                return ""
            return covered(request)
        self.turn_prompts.append(messages)
        asked = LABEL.findall(messages[-1].content)
        return f"About {asked[0]}: here is a short answer in a few plain words."


def covered(request: str) -> str:
    return "Covered: " + " ".join(dict.fromkeys(LABEL.findall(request))) + "."


def question(conversation: str, i: int) -> str:
    return f"Question {conversation}-q{i}: please tell me something about topic number {i} today."


async def converse(agent: VoiceAgent, conversation: str, turns: range) -> list[str]:
    """Talk; returns the summary stored before each turn ("" for none)."""
    before = []
    for i in turns:
        stored = await agent.services.memory.latest_summary(conversation)
        before.append(stored.text if stored else "")
        await agent.arespond(question(conversation, i), conversation_id=conversation,
                             synthesize=False)
        await agent.services.folder.drain()  # the caller's pause: the background fold ends
    return before


@pytest_asyncio.fixture(loop_scope="function", params=["in-memory", "sqlite", "postgresql"])
async def history(request, tmp_path):
    if request.param == "in-memory":
        yield InMemoryDialogueStore()
        return
    url = (str(tmp_path / "history.sqlite3") if request.param == "sqlite"
           else request.getfixturevalue("postgres_schema_url"))
    async with SqlDialogueStore(url) as store:
        yield store


async def test_forty_turns_stay_within_budget_with_a_stored_reused_batched_summary(history):
    model = Model()
    agent = VoiceAgent(model.fake, memory=history, tools=[], history_token_budget=BUDGET)
    summaries_before = await converse(agent, "A", range(40))

    assert len(model.turn_prompts) == 40
    assert max(prompt_tokens(p) for p in model.turn_prompts) <= BUDGET
    # Without folding, the last prompt would have held all 78 earlier turns.
    assert len(model.turn_prompts[-1]) < 40

    stored = await history.latest_summary("A")
    assert stored is not None and stored.text.startswith("Covered: A-q0 ")
    # Reused: each prompt carries the summary stored before its turn, right after the persona.
    persona = agent.persona.full_system_prompt()
    for prompt, summary in zip(model.turn_prompts, summaries_before):
        assert prompt[0].content == (persona + SUMMARY_HEADING + summary if summary else persona)
    assert len(set(summaries_before)) >= 3  # none at first, then updated more than once

    # Batched and incremental: a few model calls, each with the previous summary and only
    # turns no earlier call saw, at least a batch of six at a time.
    requests = model.summary_requests
    assert agent.services.folder.folds_done == len(requests)
    assert 2 <= len(requests) <= 40 * 2 // 6
    folded: list[str] = []
    previous = "(none yet)"
    for request in requests:
        assert f"Summary so far: {previous}" in request
        new_turns = request.split("New turns:", 1)[1]
        labels = LABEL.findall(new_turns)
        assert new_turns.count("\nuser: ") + new_turns.count("\nassistant: ") >= 6
        assert not set(labels) & set(folded), "a turn was folded twice"
        folded += labels
        previous = covered(request)
    # Every question is in the summary or the window, but for the few turns waiting for the
    # next batch (fewer than six turns: three questions at most).
    last = model.turn_prompts[-1]
    in_prompt = set(LABEL.findall(" ".join(m.content for m in last)))
    assert len({f"A-q{i}" for i in range(40)} - in_prompt) <= 3


async def test_two_conversations_never_see_each_others_summary(history):
    model = Model()
    agent = VoiceAgent(model.fake, memory=history, tools=[], history_token_budget=BUDGET)
    for i in range(24):  # interleaved, on one agent and one store
        await converse(agent, "A", range(i, i + 1))
        await converse(agent, "B", range(i, i + 1))
    assert (await history.latest_summary("A")).text != (await history.latest_summary("B")).text
    for prompt in model.turn_prompts:
        own = LABEL.findall(prompt[-1].content)[0][0]
        seen = {label[0] for m in prompt for label in LABEL.findall(m.content)}
        assert seen == {own}, f"conversation {own}'s prompt holds another's turns or summary"


async def test_a_turn_stops_a_summary_being_written_and_the_fold_is_redone_after_it():
    slow = [True]
    model = Model()

    def reply(messages, tools, tool_choice):
        if is_summary_request(messages) and slow[0]:
            model.summary_requests.append(messages[1].content)
            return text_deltas("word " * 400)  # 400 x 10 ms: still writing when the turn comes
        return model.reply(messages, tools, tool_choice)

    fake = ScriptedChatModel([reply], token_delay_s=0.01)
    agent = VoiceAgent(fake, tools=[], history_token_budget=300)
    folder = agent.services.folder
    for i in range(30):
        await agent.arespond(question("A", i), conversation_id="A", synthesize=False)
        if model.summary_requests:
            break
    while not folder._model_calls:  # the fold is waiting on the model
        await asyncio.sleep(0.01)
    slow[0] = False
    await agent.arespond(question("A", 99), conversation_id="A", synthesize=False)
    assert fake.stopped_early == 1  # the summary's stream was closed for the turn
    await folder.drain()
    assert folder.folds_done == 1 and folder.folds_failed == 0
    assert (await agent.services.memory.latest_summary("A")).text.startswith("Covered: A-q0")


async def test_a_failing_summary_is_logged_and_the_turns_go_on(caplog):
    model = Model(empty_summaries=True)
    agent = VoiceAgent(model.fake, tools=[], history_token_budget=300)
    with caplog.at_level(logging.WARNING, logger="agent.recall.summary_folding"):
        await converse(agent, "A", range(20))
    assert len(model.turn_prompts) == 20 and max(map(prompt_tokens, model.turn_prompts)) <= 300
    assert agent.services.folder.folds_failed >= 1 and agent.services.folder.folds_done == 0
    assert "could not update the running summary of conversation A" in caplog.text
    assert await agent.services.memory.latest_summary("A") is None


def test_a_budget_too_small_for_the_persona_prompt_is_refused_at_once():
    # Input tried: history_token_budget=20 with the default persona (about 19 tokens).
    with pytest.raises(ContextBudgetError, match="persona prompt alone takes"):
        VoiceAgent(ScriptedChatModel(["x"]), tools=[], history_token_budget=20)
    with pytest.raises(ValueError, match="positive number of tokens"):
        VoiceAgent(ScriptedChatModel(["x"]), tools=[], history_token_budget=0)


async def test_without_a_budget_the_newest_turns_go_in_and_nothing_is_summarized():
    model = Model()
    agent = VoiceAgent(model.fake, tools=[], history_turns=4)
    for i in range(10):
        await agent.arespond(question("A", i), conversation_id="A", synthesize=False)
    assert agent.services.folder is None and model.summary_requests == []
    assert len(model.turn_prompts[-1]) == 1 + 4 + 1
