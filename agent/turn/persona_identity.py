""""What's your name?" answered from the persona card, not guessed by the model.

The agent's name is a fact the framework holds, like a tool's result. Asked "Hi there!
What's your name?", the 0.5B model answered "Hello! How can I assist you today?" under the
persona prompt that names it. So when the user asks who the agent is, the reply is the
persona's own sentence that names itself: the sentence of its greeting that holds its name
("Hi, I'm Joe.", "Hello, this is Mia from SkyWay Air."), else "I'm NAME." in its language.
"""

from __future__ import annotations

import re

from personas import Persona
from speech.sentences import split_sentences

# Asking for the agent's name or who it is; "who are you" only as the whole question, so
# "who are you voting for" is not taken for it.
_ASKS_NAME = re.compile(
    r"\b(?:what(?:'s|s| is) your name|what(?: should| do| can) i call you|what are you called|"
    r"tell me your name|who am i (?:talking|speaking) (?:to|with)|"
    r"who are you(?=\s*(?:again|exactly)?\s*[?.!]*\s*$))", re.I)
_ASKS_NAME_ZH = re.compile(r"你叫什么|你是谁|怎么称呼你|你的名字|您贵姓|您怎么称呼")


def asks_for_name(text: str) -> bool:
    return bool(_ASKS_NAME.search(text) or _ASKS_NAME_ZH.search(text))


def introduction(persona: Persona, text: str) -> str | None:
    """The sentence that answers `text` when it asks the agent's name; None otherwise."""
    if not persona.name or not asks_for_name(text):
        return None
    for sentence in split_sentences(persona.greeting_text()):
        if persona.name in sentence:
            return sentence
    if persona.language.lower().startswith("zh"):
        return f"我是{persona.name}。"
    return f"I'm {persona.name}."
