"""A question about the world is answered from a plain prompt (agent.honesty.world_questions);
anything of the character keeps the persona's prompt. The personas are the shipped ones; the
chat model is a recording fake that can answer from a second prompt (the embedded backend
does it for real in tests/agent/backends/test_parked_prompt.py and the CLI test)."""

from __future__ import annotations

from typing import Any

import pytest
from fakes import ScriptedChatModel

from agent import ChatMessage, ToolCall, VoiceAgent
from agent.honesty.world_questions import (
    asks_about_the_world, plain_answer_prompt, world_answer_prompt,
)
from personas import Lorebook, Persona
from personas.persona_library import PersonaLibrary
from tools import tool


@pytest.fixture(scope="module")
def library():
    return PersonaLibrary()


@pytest.mark.parametrize("key, text", [
    ("captain-bram", "How many legs does a spider have?"),
    ("captain-bram", "In what year did the Titanic sink?"),  # "years" is on his card: everyday
    ("veyra", "Who painted the Mona Lisa?"),
    ("pip", "What do you call a baby cat?"),  # the generic you
    ("pip", "How do you say hello in Spanish?"),
    ("veyra", "How many planets are in our solar system?"),  # everyone's "our"
    ("captain-bram", "What is the name of the galaxy we live in?"),
    ("skyway-agent", "What is the capital of Australia?"),  # its policy lore is always there
    ("xiaoyue", "中国的首都是哪个城市？"),
    ("xiaoyue", "一年有几个月？"),
])
def test_questions_about_the_world(library, key, text):
    assert asks_about_the_world(text, library.get(key))


@pytest.mark.parametrize("key, text", [
    ("captain-bram", "Who are you?"),
    ("captain-bram", "What's your name?"),
    ("captain-bram", "What happened to the Marigold?"),  # a lore key
    ("captain-bram", "Have you ever seen a kraken?"),  # not a wh-question, and "you"
    ("captain-bram", "Why do ships float?"),  # "ship" is on his card
    ("captain-bram", "What should I do next?"),
    ("captain-bram", "Where are we?"),
    ("captain-bram", "What did we talk about?"),  # the conversation: the persona's history
    ("pip", "What is our plan?"),
    ("captain-bram", "Who built it?"),  # points back into the conversation
    ("pip", "What is your favourite gadget?"),
    ("pip", "What's a good story about a fox?"),  # "fox" is on her card
    ("veyra", "What does the moon say?"),  # "moon" is in her greeting
    ("veyra", "What do you think of my future?"),
    ("veyra", "What's a riddle you like?"),
    ("skyway-agent", "Can I bring my dog on the plane?"),  # yes/no, and a lore key
    ("skyway-agent", "How much is a second checked bag?"),
    ("xiaoyue", "你是谁？"),
    ("xiaoyue", "给我讲个故事吧。"),
    ("xiaoyue", "天空为什么是蓝色的？"),  # her example dialogue answers it
    ("xiaoyue", "小跃会唱歌吗？"),
    ("pip", "Tell me a joke."),
    ("pip", ""),
])
def test_questions_of_the_character_keep_its_prompt(library, key, text):
    assert not asks_about_the_world(text, library.get(key))


def test_a_card_or_lore_of_someone_else_is_read_the_same_way():
    # Tried: an imported card with its own world (a lore key, a card word), and a question
    # outside it. Nothing is built in for the shipped personas.
    card = Persona(name="Mira", system_prompt="You are Mira, a lighthouse keeper on Skarv Island.",
                   lore=Lorebook.model_validate({"entries": [
                       {"keys": ["fog bell"], "content": "The fog bell cracked in 1902."}]}))
    assert not asks_about_the_world("When did the fog bell crack?", card)
    assert not asks_about_the_world("Where is Skarv Island?", card)
    assert not asks_about_the_world("What does a lighthouse keeper do?", card)
    assert asks_about_the_world("What is the boiling point of water?", card)


def test_the_plain_prompt_holds_the_name_rules_and_tags_and_no_card(library):
    bram = library.get("captain-bram")
    system, user = plain_answer_prompt(bram, "How many legs does a spider have?")
    assert system.content.startswith("You are Captain Bram.")
    assert "Holloway" not in system.content and "Salty Gull" not in system.content
    assert "(" in system.content  # the style-tag protocol: he may still sound like himself
    assert user == ChatMessage(role="user", content="How many legs does a spider have?")
    zh_system, _ = plain_answer_prompt(library.get("xiaoyue"), "一年有几个月？")
    assert zh_system.content.startswith("你是小跃。") and "阶跃星辰" not in zh_system.content


class Recording(ScriptedChatModel):
    """Records the `answer_from` each stream got (the embedded backend's keyword)."""

    answers_from_another_prompt = True

    def __init__(self, replies) -> None:
        super().__init__(replies)
        self.answer_from: list[Any] = []

    def stream(self, messages, tools=(), *, tool_choice="auto", answer_from=None):
        self.answer_from.append(answer_from)
        return super().stream(messages, tools, tool_choice=tool_choice)


async def test_the_agent_answers_a_world_question_from_the_plain_prompt(library):
    # Tried through VoiceAgent: a world question, then a question of the character, to
    # Captain Bram. The first stream gets the plain prompt (calls are still decided on his
    # own prompt: `messages` is unchanged), the second nothing.
    model = Recording(["A spider has eight legs.", "Afraid? Every night."])
    agent = VoiceAgent(model, decoder=None, tools=[], persona=library.get("captain-bram"),
                       learn_facts=False)
    await agent.arespond("How many legs does a spider have?", conversation_id="c", synthesize=False)
    await agent.arespond("Were you ever afraid at sea?", conversation_id="c", synthesize=False)
    first, second = model.answer_from
    assert first[0].content.startswith("You are Captain Bram.")
    assert first[-1].content == "How many legs does a spider have?"
    assert model.calls[0][0][0].content.startswith("You are Captain Bram Holloway")
    assert second is None


async def test_after_a_tool_result_the_answer_keeps_the_persona_prompt(library):
    # Tried: "What's the time in Tokyo?" to Pip with a clock tool: the first round may call,
    # and the answer after the result is read from her prompt with the result in it.
    @tool
    def local_time(timezone: str) -> str:
        """The local time in an IANA time zone."""
        return "09:30"

    model = Recording([ToolCall(id="1", name="local_time", arguments={"timezone": "Asia/Tokyo"}),
                       "It's half past nine in Tokyo!"])
    agent = VoiceAgent(model, decoder=None, tools=[local_time], persona=library.get("pip"),
                       learn_facts=False)
    reply = await agent.arespond("What's the time in Tokyo?", conversation_id="t",
                                 synthesize=False)
    assert model.answer_from[0] is not None and model.answer_from[1] is None
    assert "half past nine" in reply.text


def test_a_backend_without_a_second_prompt_is_left_as_it_is(library):
    class Services:
        chat_model = ScriptedChatModel(["x"])
        persona = library.get("captain-bram")

    state = {"user_text": "How many legs does a spider have?", "messages": []}
    assert world_answer_prompt(Services, state) is None


def test_a_persona_with_no_character_keeps_its_own_prompt():
    # The default persona is one assistant line: "You are Joe." instead made the 0.5B name
    # Joe as the composer of The Four Seasons. Nothing to take away, so nothing is.
    from personas import DEFAULT_PERSONA

    class Services:
        chat_model = Recording(["x"])
        persona = DEFAULT_PERSONA

    state = {"user_text": "Who composed the Four Seasons?", "messages": []}
    assert asks_about_the_world(state["user_text"], DEFAULT_PERSONA)
    assert world_answer_prompt(Services, state) is None
