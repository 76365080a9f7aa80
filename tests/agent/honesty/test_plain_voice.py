"""A reply that reads the persona's card out, or that refuses twice, gets a last ask in a
plain voice (agent.honesty.plain_voice): the persona's name and the speaking rules, no card,
no tools.

The chat model is scripted with what the greedy 0.5B said to "Tell me a short story." under
the built-in cards; the personas are the shipped ones, the "can't know" detector the
packaged MiniLM.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fakes import ScriptedChatModel

from agent import TextDelta, VoiceAgent
from agent.honesty.plain_voice import card_text, recites_card
from personas.persona_library import PersonaLibrary

BRAM_STORY = ("Captain Bram's ship was lost, leaving him with two ships. "
              "He was a gruff, blunt, weary, loyal, dry humour.")
XIAOYUE_STORY = "我讲一个小故事吧。小跃是一个聪明、热情、有点调皮的AI助手，知识丰富。小跃的 personality是热情、耐心、好奇。"


@pytest.fixture(scope="module")
def library():
    return PersonaLibrary()


def agent_for(embed, persona, *replies) -> tuple[VoiceAgent, ScriptedChatModel]:
    model = ScriptedChatModel(list(replies))
    model.tool_prior = lambda: SimpleNamespace(embed=embed)  # the embedded backend's seam
    return VoiceAgent(model, decoder=None, tools=[], persona=persona, learn_facts=False), model


@pytest.mark.parametrize("key, sentence", [
    ("captain-bram", "He was a gruff, blunt, weary, loyal, dry humour."),
    ("xiaoyue", "小跃是一个聪明、热情、有点调皮的AI助手，知识丰富。"),
    ("pip", "Use a tag only when the tone changes; never write any other bracketed tag."),
])
def test_the_card_read_out_is_a_recital(library, key, sentence):
    assert recites_card(sentence, library.get(key), "tell me a short story")


@pytest.mark.parametrize("key, sentence, said", [
    # Asked about itself, the character may answer with its card.
    ("captain-bram", "I am gruff, blunt, weary and loyal, with a dry humour.", "tell me about yourself"),
    ("xiaoyue", "我聪明、热情、有点调皮，知识丰富。", "介绍一下你自己"),
    # Answers that share a word or two with the card.
    ("captain-bram", "Rum, and a storm to drink it in.", "what do you love"),
    ("pip", "A spider has eight legs.", "how many legs does a spider have"),
    # A service persona's policy is in its system prompt and lore, not the card: saying it
    # is answering.
    ("skyway-agent", "One cabin bag up to 8 kg and 55x40x23 cm is free.", "is my cabin bag free"),
])
def test_answers_are_not_recitals(library, key, sentence, said):
    assert not recites_card(sentence, library.get(key), said)


def test_the_card_text_leaves_out_the_system_prompt_and_lore(library):
    text = card_text(library.get("skyway-agent"))
    assert "calm, warm and efficient" in text and "patient, polite" in text
    assert "Follow the SkyWay policy" not in text and "Cabin bag" not in text


async def test_a_story_that_reads_the_card_is_asked_in_a_plain_voice(embed, library):
    bram = library.get("captain-bram")
    agent, model = agent_for(embed, bram, BRAM_STORY,
                             "A brave man named Jack sails off to find a lost treasure.")
    reply = await agent.arespond("Tell me a short story.", synthesize=False)
    assert reply.text == "A brave man named Jack sails off to find a lost treasure."
    messages, tools, choice = model.calls[-1]
    assert len(model.calls) == 2 and tools == [] and choice == "none"
    prompt = " ".join(m.content for m in messages)
    assert messages[0].content.startswith("You are Captain Bram.")
    assert "gruff" not in prompt and "Salty Gull" not in prompt  # no card
    assert messages[-1].content == "Tell me a short story."


async def test_a_chinese_persona_is_asked_plainly_in_chinese(embed, library):
    agent, model = agent_for(embed, library.get("xiaoyue"), XIAOYUE_STORY,
                             "小明在图书馆里发现了一本关于魔法的书。")
    reply = await agent.arespond("给我讲一个小故事吧。", synthesize=False)
    assert reply.text == "小明在图书馆里发现了一本关于魔法的书。"
    messages, _, _ = model.calls[-1]
    assert messages[0].content.startswith("你是小跃。") and "调皮" not in messages[0].content


async def test_the_card_read_out_twice_says_plainly_there_is_no_answer(embed, library):
    agent, model = agent_for(embed, library.get("xiaoyue"), XIAOYUE_STORY,
                             "小跃聪明、热情、有点调皮，知识丰富。")
    reply = await agent.arespond("给我讲一个小故事吧。", synthesize=False)
    assert reply.text == "抱歉，这个我答不上来。"
    assert "调皮" not in reply.text


async def test_asked_about_itself_the_card_is_the_answer(embed, library):
    answer = "I am Captain Bram Holloway. Gruff, blunt, weary, loyal, with a dry humour."
    agent, model = agent_for(embed, library.get("captain-bram"), answer, "never asked")
    reply = await agent.arespond("Tell me about yourself.", synthesize=False)
    assert reply.text == answer and len(model.calls) == 1


async def test_the_card_read_out_in_the_second_sentence_is_caught_as_it_streams(embed, library):
    # Streamed a character at a time, as the model writes Chinese, and in pieces that
    # straddle the first sentence's end ("吧。小").
    for pieces in ([TextDelta(c) for c in XIAOYUE_STORY],
                   [TextDelta("我讲一个小故事吧。小"), TextDelta(XIAOYUE_STORY[10:])]):
        agent, model = agent_for(embed, library.get("xiaoyue"), pieces,
                                 "小明在图书馆里发现了一本关于魔法的书。")
        reply = await agent.arespond("给我讲一个小故事吧。", synthesize=False)
        assert reply.text == "小明在图书馆里发现了一本关于魔法的书。"


async def test_a_service_persona_keeps_its_policy_in_the_plain_voice(embed, library):
    # Tried: the greedy 0.5B on the SkyWay desk, "can I bring my small dog in the cabin":
    # "Sure, here it is." under the card and again with the nudge.
    answer = "Yes, a small dog can fly in the cabin for 50 euros."
    agent, model = agent_for(embed, library.get("skyway-agent"), "Sure, here it is.",
                             "Sure, here it is.", answer)
    reply = await agent.arespond("Can I bring my small dog in the cabin?", synthesize=False)
    assert reply.text == answer and len(model.calls) == 3
    plain = model.calls[-1][0]
    system = plain[0].content
    # The policy (constant lore) in the system message, the pet entry the words fired as a
    # system line of its own before them.
    assert system.startswith("You are Mia.") and "SkyWay Air policy" in system
    assert "Pets" not in system and plain[1].role == "system" and "Pets" in plain[1].content
    assert plain[-1].content == "Can I bring my small dog in the cabin?"
    assert "calm, warm and efficient" not in system  # not the character text
