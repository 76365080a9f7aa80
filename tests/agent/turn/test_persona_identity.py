""""What's your name?" is answered from the persona card, whatever the model would say."""

from __future__ import annotations

import pytest

from agent import VoiceAgent
from agent.turn.persona_identity import asks_for_name, introduction
from fakes import ScriptedChatModel
from personas import DEFAULT_PERSONA, Persona, PersonaLibrary


@pytest.mark.parametrize("text", [
    "Hi there! What's your name?", "whats your name", "Who are you?", "who are you again",
    "What should I call you?", "Who am I talking to?", "你叫什么名字？", "请问你是谁"])
def test_questions_about_the_agents_name(text):
    assert asks_for_name(text)


@pytest.mark.parametrize("text", [
    "Who are you voting for?", "What's the name of the largest ocean?", "What time is it?",
    "Tell me about the name Joe", "What is my name?"])
def test_other_questions_are_left_to_the_model(text):
    assert not asks_for_name(text)


def test_the_greeting_sentence_that_names_the_persona_is_used():
    assert introduction(DEFAULT_PERSONA, "What's your name?") == "Hi, I'm Joe."
    mia = PersonaLibrary().get("skyway-agent")
    assert introduction(mia, "who are you?") == "Hello, this is Mia from SkyWay Air."


def test_without_a_naming_greeting_the_name_is_said_in_the_personas_language():
    ava = Persona(name="Ava", system_prompt="You are Ava.", greeting="Hello there!")
    assert introduction(ava, "Who are you?") == "I'm Ava."
    an = Persona(name="小安", system_prompt="你是小安。", language="zh")
    assert introduction(an, "你叫什么名字") == "我是小安。"


async def test_the_reply_names_the_persona_where_the_model_would_not():
    """Input tried: the model's actual answer on the demo ("How can I assist you?")."""
    model = ScriptedChatModel(["Hello! How can I assist you today?"])
    agent = VoiceAgent(model, tools=[])
    reply = await agent.arespond(text="Hi there! What's your name?")
    assert reply.text == "Hi, I'm Joe."
    other = await agent.arespond(text="What is the capital of Japan?")
    assert other.text == "Hello! How can I assist you today?"  # the model's words stand
