"""The persona's system prompt, assembled in one fixed order.

    1. system prompt          (or "You are {{char}}." when the persona has none)
    2. description
    3. personality
    4. scenario
    5. constant lore          (entries in every prompt, in insertion order)
    6. example dialogues
    7. speaking rules         (spoken-output rules, then the style-tag protocol if any)
    -- then the history and the new user turn, as separate messages (agent.recall.history_prompt),
       with the keyed lore entries the recent messages fire as a system line just before the
       new turn (`keyed_lore_note`). `full_system_prompt` keeps them in place 5 for
       anything that wants the whole card as one text.

Role-play models stay in character best when identity comes first and examples come last
before the conversation; the order never changes, so prompts are comparable across personas.
Empty sections are left out. `{{char}}` / `{{user}}` macros expand everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from speech.style_tags import tag_protocol_text

if TYPE_CHECKING:
    from personas.persona import Persona

SPOKEN_RULES = (
    "Your replies are spoken aloud by a speech synthesizer: answer in one to three short "
    "sentences of plain words. No lists, no markdown, no emojis, no URLs."
)
SPOKEN_RULES_ZH = "你的回答会被语音合成朗读出来：用一到三句简短的口语回答，不要列表、markdown、表情符号或网址。"

def expand_macros(text: str, char: str, user: str) -> str:
    """`{{char}}`, `{{user}}` (and the older `<BOT>`, `<CHAR>`, `<USER>`), `{{reverse:A}}`;
    comment macros `{{// A}}` and `{{comment: A}}` vanish. Case-insensitive, as the spec says."""
    text = re.sub(r"\{\{//.*?\}\}|\{\{comment:.*?\}\}", "", text, flags=re.IGNORECASE | re.DOTALL)
    text = re.sub(r"\{\{reverse:(.*?)\}\}", lambda m: m[1][::-1], text, flags=re.IGNORECASE)
    text = re.sub(r"\{\{char\}\}|<bot>|<char>", lambda m: char, text, flags=re.IGNORECASE)
    return re.sub(r"\{\{user\}\}|<user>", lambda m: user, text, flags=re.IGNORECASE)


def assemble_system_prompt(persona: Persona, recent_messages: Sequence[str] = (), *,
                           user_name: str = "User", keyed: bool = True) -> str:
    """The sections above in order; with `keyed=False` only the constant lore entries (the
    keyed ones go next to the caller's words instead: `keyed_lore_note`)."""
    lore = persona.lore.triggered(list(recent_messages)) if persona.lore else []
    lore = [e for e in lore if keyed or e.constant]
    examples = "\n\n".join(d.strip() for d in persona.example_dialogues if d.strip())
    rules = SPOKEN_RULES_ZH if persona.language.lower().startswith("zh") else SPOKEN_RULES
    if protocol := tag_protocol_text(persona.style_tags):
        rules += "\n" + protocol
    sections = [
        persona.system_prompt.strip() or f"You are {persona.name}.",
        persona.description.strip(),
        f"{persona.name}'s personality: {persona.personality.strip()}"
        if persona.personality.strip() else "",
        f"Scenario: {persona.scenario.strip()}" if persona.scenario.strip() else "",
        "\n".join(entry.content.strip() for entry in lore if entry.content.strip()),
        f"Example dialogue:\n{examples}" if examples else "",
        rules,
    ]
    text = "\n\n".join(s for s in sections if s)
    return expand_macros(text, persona.name, user_name)


def keyed_lore_note(persona: Persona, recent_messages: Sequence[str], *,
                    user_name: str = "User") -> str:
    """The keyed lore entries the recent messages fire, as one note ("" when none fire).

    A turn's prompt carries it as a system line just before the caller's newest words, not in
    the system prompt: a system prompt that changed with every fired entry made llama.cpp
    evaluate all that followed the entry again, the examples, the rules and the tool list
    (about 1,500 tokens for the SkyWay desk: 19 s on two cores for "Can I bring my dog on the
    plane?"), where the note costs only its own tokens."""
    if not persona.lore:
        return ""
    fired = [e.content.strip() for e in persona.lore.triggered(list(recent_messages))
             if not e.constant and e.content.strip()]
    return expand_macros("\n".join(fired), persona.name, user_name)
