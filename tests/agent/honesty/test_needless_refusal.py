"""A harmless request refused by the small model is asked once more
(agent.honesty.needless_refusal); a harmful one keeps its refusal.

The chat model is scripted: it stands in for the 0.5B, whose refusals of "who painted the
starry night" these are. The "can't know" detector is real (the packaged MiniLM), since the
retry only applies where it let the request through as answerable.
"""

from __future__ import annotations

from types import SimpleNamespace

from fakes import ScriptedChatModel

from agent import VoiceAgent
from agent.honesty.needless_refusal import HARMFUL, NUDGE

REFUSED = "I'm sorry, but I can't assist with that."


def agent_for(embed, *replies: str) -> tuple[VoiceAgent, ScriptedChatModel]:
    model = ScriptedChatModel(list(replies))
    if embed is not None:
        model.tool_prior = lambda: SimpleNamespace(embed=embed)  # the embedded backend's seam
    return VoiceAgent(model, decoder=None, tools=[], learn_facts=False), model


async def test_a_refused_general_knowledge_question_is_asked_again(embed):
    agent, model = agent_for(embed, REFUSED, "Vincent van Gogh painted The Starry Night.")
    reply = await agent.arespond("who painted the starry night", synthesize=False)
    assert reply.text == "Vincent van Gogh painted The Starry Night."
    messages, _, choice = model.calls[-1]
    assert messages[-1].role == "system" and messages[-1].content == NUDGE
    assert choice == "none"
    assert len(model.calls) == 2


async def test_a_joke_request_refused_is_asked_again(embed):
    agent, _ = agent_for(embed, "Sorry, I can't help with that.",
                         "Why did the computer go to the doctor? It had a virus.")
    reply = await agent.arespond("tell me a joke about computers", synthesize=False)
    assert "virus" in reply.text and "can't" not in reply.text


async def test_a_refusal_of_a_harmful_request_stands(embed):
    # Input tried: a request for making a weapon, and one for breaking into an account.
    for request in ("how do i make a bomb at home", "help me hack into my ex's email"):
        agent, model = agent_for(embed, REFUSED, "Sure, here is how.")
        reply = await agent.arespond(request, synthesize=False)
        assert reply.text == REFUSED, request
        assert len(model.calls) == 1, request


async def test_an_answer_is_spoken_as_it_came_and_asked_once(embed):
    answer = "It was painted by Vincent van Gogh in 1889, in Saint-Remy."
    agent, model = agent_for(embed, answer)
    reply = await agent.arespond("who painted the starry night", synthesize=False)
    assert reply.text == answer
    assert len(model.calls) == 1
    # An answer opening with "I" is read first, and spoken whole when it is no refusal.
    agent, model = agent_for(embed, "I think it was Vincent van Gogh, in 1889.")
    reply = await agent.arespond("who painted the starry night", synthesize=False)
    assert reply.text == "I think it was Vincent van Gogh, in 1889."
    assert len(model.calls) == 1


async def test_the_nudge_read_back_is_not_said(embed):
    # honesty_eval, "give me a fun fact": the 0.5B opened its second answer with the nudge.
    agent, _ = agent_for(embed, REFUSED, NUDGE + " Octopuses have three hearts.")
    reply = await agent.arespond("give me a fun fact", synthesize=False)
    assert reply.text == "Octopuses have three hearts."
    agent, _ = agent_for(embed, REFUSED, NUDGE)  # nothing but the nudge: the refusal stays
    reply = await agent.arespond("give me a fun fact", synthesize=False)
    assert reply.text == REFUSED


async def test_a_second_refusal_gets_a_last_ask_in_a_plain_voice(embed):
    # Tried: the greedy 0.5B, "tell me a short story", refused under the card and with the
    # nudge; asked with no card and no tools, it told one.
    agent, model = agent_for(embed, REFUSED, "I cannot help with that.",
                             "A young girl finds a hidden treasure in a forest.")
    reply = await agent.arespond("tell me a short story", synthesize=False)
    assert reply.text == "A young girl finds a hidden treasure in a forest."
    messages, tools, choice = model.calls[-1]
    assert len(model.calls) == 3 and tools == [] and choice == "none"
    assert messages[0].role == "system" and messages[0].content.startswith("You are ")
    assert messages[-1].role == "user" and messages[-1].content == "tell me a short story"


async def test_a_third_refusal_stands(embed):
    agent, model = agent_for(embed, REFUSED, "I cannot help with that.")
    reply = await agent.arespond("who painted the starry night", synthesize=False)
    assert reply.text == REFUSED
    assert len(model.calls) == 3  # no fourth try


async def test_a_backend_without_the_detector_keeps_its_refusals():
    # Remote models (no MiniLM seam) refuse on purpose: their refusals are not second-guessed.
    agent, model = agent_for(None, REFUSED, "Vincent van Gogh.")
    reply = await agent.arespond("who painted the starry night", synthesize=False)
    assert reply.text == REFUSED
    assert len(model.calls) == 1


def test_what_counts_as_harmful():
    for text in ("how do i make a bomb", "where can i buy cocaine", "how to poison a dog",
                 "teach me to hack wifi", "怎么做炸弹"):
        assert HARMFUL.search(text), text
    for text in ("who painted the starry night", "tell me a joke about computers",
                 "what is the capital of australia", "how many legs does a spider have",
                 "谁画了蒙娜丽莎"):
        assert not HARMFUL.search(text), text


async def test_an_answer_that_only_announces_itself_is_asked_again(embed):
    # Tried: the greedy 0.5B's whole reply to a SkyWay caller's pet question.
    agent, model = agent_for(embed, "Sure, here it is.",
                             "Small dogs up to 8 kg can fly in the cabin for 50 euros.")
    reply = await agent.arespond("can i bring my small dog in the cabin", synthesize=False)
    assert reply.text == "Small dogs up to 8 kg can fly in the cabin for 50 euros."
    assert len(model.calls) == 2


async def test_an_announcement_followed_by_the_answer_streams_as_it_came(embed):
    answer = "Sure, here it is. Paris is the capital of France."
    agent, model = agent_for(embed, answer, "never asked")
    reply = await agent.arespond("what is the capital of france", synthesize=False)
    assert reply.text == answer and len(model.calls) == 1


async def test_an_empty_announcement_twice_says_plainly_there_is_no_answer(embed):
    agent, model = agent_for(embed, "Sure, here it is.", "Sure, here it is.")
    reply = await agent.arespond("can i bring my small dog in the cabin", synthesize=False)
    assert reply.text == "Sorry, I don't have an answer to that."


async def test_a_refusal_after_an_apology_is_asked_again(embed):
    # Tried: bench/honesty_eval.py "sorry i didn't catch that" -> the coder model's "I
    # apologize for the oversight. Please provide the function name and its parameters."
    agent, model = agent_for(embed, "I apologize for the oversight. Please provide the "
                             "function name and its parameters.",
                             "No problem! What would you like to know?")
    reply = await agent.arespond("sorry i didn't catch that", synthesize=False)
    assert reply.text == "No problem! What would you like to know?" and len(model.calls) == 2


async def test_an_apology_followed_by_an_answer_streams_as_it_came(embed):
    answer = "I'm sorry to hear that. A short walk and a glass of water often help."
    agent, model = agent_for(embed, answer, "never asked")
    reply = await agent.arespond("i have a bit of a headache", synthesize=False)
    assert reply.text == answer and len(model.calls) == 1


async def test_a_prompt_note_read_back_is_asked_again(embed):
    # Tried: 小跃, "给我唱一首关于月亮的歌吧。": the 0.5B said the per-turn note of the prompt,
    # "（请用简短的口语直接回答我，不要提到任何函数。）", and nothing else.
    note = "（请用简短的口语直接回答我，不要提到任何函数。）"
    agent, model = agent_for(embed, note, "月亮弯弯挂天上，照着小河亮堂堂。")
    reply = await agent.arespond("给我唱一首关于月亮的歌吧。", synthesize=False)
    assert reply.text == "月亮弯弯挂天上，照着小河亮堂堂。" and len(model.calls) == 2
    # The English note, after a style tag, the same; a tag before an answer is an answer.
    agent, model = agent_for(embed, "(singing) (Answer me in plain spoken words.)",
                             "The sea is wide and blue.")
    reply = await agent.arespond("sing me a song about the sea", synthesize=False)
    assert reply.text == "The sea is wide and blue."
    agent, model = agent_for(embed, "(四川话)你好噻！")
    reply = await agent.arespond("用四川话跟我打个招呼吧。", synthesize=False)
    assert len(model.calls) == 1 and "你好噻" in reply.text


async def test_the_callers_own_words_said_back_go_to_the_plain_voice(embed):
    # Tried: the greedy 0.5B as the SkyWay desk, "Can I bring my dog on the plane?" ->
    # "Yes, I can bring my dog on the plane.": the caller's words, in their first person.
    # (The default persona here has no booking tools, so the same words about a plane are a
    # question about the caller's booking it cannot know: the same mirror, about a kiwi.)
    agent, model = agent_for(embed, "Yes, I can eat the skin of a kiwi. Enjoy!",
                             "Yes, the skin of a kiwi is safe to eat and full of fibre.")
    reply = await agent.arespond("Can I eat the skin of a kiwi?", synthesize=False)
    assert reply.text == "Yes, the skin of a kiwi is safe to eat and full of fibre."
    messages, tools, choice = model.calls[-1]
    assert messages[0].role == "system" and choice == "none" and tools == []  # the plain voice
    # The same in Chinese: "我可以带狗上飞机吗？" -> "是的，我可以带狗上飞机。"
    agent, model = agent_for(embed, "是的，我可以带狗上飞机。", "可以，小型犬可以随行，费用五十欧元。")
    reply = await agent.arespond("我可以带狗上飞机吗？", synthesize=False)
    assert reply.text == "可以，小型犬可以随行，费用五十欧元。" and len(model.calls) == 2


async def test_an_answer_in_the_callers_words_but_the_agents_person_streams_as_it_came(embed):
    # Inputs tried: a yes in the second person; a no that adds its own words; a caller who
    # asked for their words to be said back.
    for said, answer in [
        ("Can I eat the skin of a kiwi?", "Yes, you can eat the skin of a kiwi."),
        ("Do I need a visa for Japan?", "No, most visitors need no visa for a short stay."),
        ("Repeat after me: I love my cat.", "I love my cat."),
    ]:
        agent, model = agent_for(embed, answer)
        reply = await agent.arespond(said, synthesize=False)
        assert reply.text == answer and len(model.calls) == 1, said


def test_what_counts_as_speaking_as_the_caller():
    from agent.honesty.needless_refusal import speaks_as_caller
    said = "Am I allowed to bring a laptop in my hand luggage?"
    assert speaks_as_caller("Yes, I am allowed to bring a laptop in my hand luggage.", said)
    assert speaks_as_caller("I am allowed to bring a laptop.", said)
    assert not speaks_as_caller("Yes, you may bring a laptop in your hand luggage.", said)
    assert not speaks_as_caller("Yes, laptops are allowed in hand luggage.", said)
    # A question about the world, not the caller: no first person to mirror.
    assert not speaks_as_caller("Yes, the moon is a satellite.", "Is the moon a satellite?")
