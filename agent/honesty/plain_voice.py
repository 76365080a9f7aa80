"""A request the persona's prompt cannot get answered: asked once more in a plain voice.

The packaged 0.5B model, under a character card, tells no stories. Asked "Tell me a short
story.", Pip and Veyra refused, the default persona said the request back, Captain Bram
answered "He was a gruff, blunt, weary, loyal, dry humour." (his card's personality line)
and 小跃 read out her own description and the tool list. The same model, told only
"You are Pip." and the speaking rules, tells a story ("A story about a mischievous boy who
discovers a hidden treasure."). So when the card-prompted answer to a harmless request no
tool served is a refusal, an empty announcement or the card read out, the model is asked
once more with that plain prompt: the persona's name, the speaking rules in its language
and its constant lore (a service persona's policy), the keyed lore the conversation fires
and its last lines; no character text, no examples, no style tags, no tools. With the persona's own system prompt
kept instead, Pip and Veyra ("Stay in character") refused again and 小跃 read it out.

The card is what the character knows about itself, so a question about the agent ("tell me
about yourself", "你是谁") may be answered with it: those are never taken for a recital.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from difflib import SequenceMatcher

from agent.chat_model import ChatEvent, ChatMessage
from agent.honesty.refusal_after_tool import language_of, spoken_words
from agent.turn.apology import apologising
from agent.turn.context import TurnContext
from agent.turn.state import TurnState
from personas.persona_prompt import SPOKEN_RULES, SPOKEN_RULES_ZH, expand_macros, keyed_lore_note
from speech.style_tags import tag_protocol_text

_HISTORY = 6  # the conversation's last user and agent lines kept in the plain prompt
# A question about the agent itself: its card is the answer, not a recital.
ABOUT_THE_AGENT = re.compile(
    r"\b(?:are you|yourself|about you|your (?:name|life|past|story|job|work|home|family|"
    r"personality|background|age))\b|你是|你自己|关于你|你的|你叫|你会|你能|你喜欢|介绍一下你|介绍你",
    re.I)
_COPIED_RUN = 3  # shorter shared runs ("of the", "小跃") are ordinary words, not a copy
_COPIED_SHARE = 0.5  # of a sentence's words
_COPIED_MIN = 5


def card_text(persona) -> str:
    """What a reply must not read out: the card's description of the character (its
    description, personality and scenario) and the framework's own speaking rules. The
    system prompt and lore are left out: a service persona's policies are in them, and
    saying those is answering."""
    rules = SPOKEN_RULES_ZH if language_of(persona) == "zh" else SPOKEN_RULES
    parts = [persona.description, persona.personality, persona.scenario, rules,
             tag_protocol_text(persona.style_tags)]
    return expand_macros("\n".join(p for p in parts if p), persona.name, "User")


def recites_card(sentence: str, persona, said: str) -> bool:
    """Whether `sentence` is mostly the card read out (runs of three or more of its words,
    half the sentence or more), when the caller did not ask about the agent."""
    if ABOUT_THE_AGENT.search(said):
        return False
    words, card = spoken_words(sentence), spoken_words(card_text(persona))
    blocks = SequenceMatcher(None, words, card, autojunk=False).get_matching_blocks()
    copied = sum(b.size for b in blocks if b.size >= _COPIED_RUN)
    return copied >= _COPIED_MIN and copied >= _COPIED_SHARE * len(words)


def plain_prompt(persona, state: TurnState) -> list[ChatMessage]:
    """`plain_system`, the keyed lore the conversation fires, then its last lines: none of
    the card's character text or examples."""
    lines = [m for m in state["messages"] if m.role in ("user", "assistant") and m.content]
    # No style-tag protocol here, unlike the answers to questions about the world: with it,
    # the 0.5B refused "Tell me a short story." again as Captain Bram, Pip and Veyra. The
    # keyed lore the lines fire is a system line of its own, after the system message.
    lore = keyed_lore_note(persona, [m.content for m in lines])
    note = [ChatMessage(role="system", content=lore)] if lore else []
    return [ChatMessage(role="system", content=plain_system(persona)), *note,
            *lines[-_HISTORY:]]


def plain_system(persona, *, tags: bool = False) -> str:
    """"You are NAME.", the speaking rules in the persona's language, with `tags` its
    style-tag protocol, then its constant lore (a service persona's policy, which a plain
    answer must follow as much as the card's): a system prompt with none of the character
    text."""
    zh = language_of(persona) == "zh"
    sections = [f"你是{persona.name}。" if zh else f"You are {persona.name}.",
                SPOKEN_RULES_ZH if zh else SPOKEN_RULES]
    if tags and persona.style_tags:
        sections.append(tag_protocol_text(persona.style_tags))
    if persona.lore:
        sections += [e.content.strip() for e in persona.lore.triggered([])  # constant ones
                     if e.content.strip()]
    return expand_macros("\n\n".join(sections), persona.name, "User")


def asked_plainly(ctx: TurnContext, state: TurnState) -> AsyncIterator[ChatEvent]:
    """The second answer's stream, from the plain prompt with no tools."""
    svc = ctx.services
    return apologising(svc.chat_model.stream(plain_prompt(svc.persona, state), [],
                                             tool_choice="none"),
                       getattr(svc.chat_model, "name", ""))
