"""The prompt of one turn: persona prompt, what is known about the caller, the running summary,
history, and the user's words.

Without a token budget, history is the newest `history_turns` turns. With one
(`history_token_budget`), the whole prompt (every message, as counted by the window's token
counter; tool schemas are the backend's fixed prefix and not counted) stays within it: the
persona prompt, pinned facts and the user's turn always go in, recalled facts take at most a
quarter of the budget, the stored summary and the newest whole turns share the rest
(`memory.ContextWindowBuilder`). The summary and the facts are appended to the system
message, the summary right after the persona text. The persona's keyed lore
that this turn's words fire is a system line just before them (`Persona.turn_prompt_parts`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from agent.chat_model import ChatMessage
from agent.recall.history_prompt import history_messages
from agent.turn.context import TurnContext
from memory import ContextBudgetError, DialogueTurn
from memory.context_window import MESSAGE_OVERHEAD_TOKENS, approximate_tokens

log = logging.getLogger(__name__)
SUMMARY_HEADING = "\n\nEarlier in this conversation: "
FACTS_HEADING = "\n\nWhat you know about this caller: "


def system_text(persona_prompt: str, summary: str, facts: Sequence[str]) -> str:
    text = persona_prompt
    if summary:
        text += SUMMARY_HEADING + summary
    if facts:
        text += FACTS_HEADING + " ".join(f if f.endswith(".") else f + "." for f in facts)
    return text


def message_tokens(text: str) -> int:
    return approximate_tokens(text) + MESSAGE_OVERHEAD_TOKENS


async def build_prompt(ctx: TurnContext, text: str) -> list[ChatMessage]:
    """The messages for `think`; sets `ctx.fixed_tokens` for the fold after the turn."""
    svc = ctx.services
    pinned, recalled = await _caller_facts(ctx, text)
    if svc.history_token_budget is None:
        history = await svc.memory.history(ctx.conversation_id, svc.history_turns)
        persona, lore = svc.persona.turn_prompt_parts([*(t.text for t in history), text])
        return _messages(system_text(persona, "", [*pinned, *recalled]), history, text, lore)

    budget = svc.history_token_budget
    recalled = _within(recalled, budget // 4)
    builder = (svc.folder.builder(svc.memory, budget) if svc.folder is not None
               else _plain_builder(svc.memory, budget))
    # The persona text depends on the history (lore entries its words trigger), and the
    # history on what the persona text leaves: assemble once with this turn's lore, again if
    # the window's words triggered more.
    persona, lore = svc.persona.turn_prompt_parts([text])
    for attempt in range(2):
        fixed = _fixed_tokens(persona, [*pinned, *recalled], text) + \
            (message_tokens(lore) if lore else 0)
        try:
            window = await builder.assemble(ctx.conversation_id, fixed)
        except ContextBudgetError as exc:
            # Only this turn can be too long here (the persona prompt was checked when the
            # agent was made): answer it without history rather than not at all.
            log.warning("no room for history in conversation %s: %s", ctx.conversation_id, exc)
            window = None
            break
        wider = svc.persona.turn_prompt_parts([*(t.text for t in window.turns), text])
        if attempt == 1 or wider == (persona, lore):
            break  # lore the second window would add more is left out: the budget holds
        persona, lore = wider
    ctx.fixed_tokens = fixed
    if window is None:
        return _messages(system_text(persona, "", pinned), [], text, lore)
    return _messages(system_text(persona, window.summary, [*pinned, *recalled]),
                     window.turns, text, lore)


def check_persona_fits(persona_prompt: str, budget: int | None) -> None:
    """A budget that cannot hold the persona prompt is a set-up error: say so at once."""
    if budget is not None and message_tokens(persona_prompt) * 2 > budget:
        raise ContextBudgetError(
            f"history_token_budget={budget} leaves no room: the persona prompt alone takes "
            f"{message_tokens(persona_prompt)} tokens; give at least twice that")


def _fixed_tokens(persona: str, facts: Sequence[str], text: str) -> int:
    # Headings included; the summary is the window builder's to count.
    return (message_tokens(system_text(persona, "", facts)) + approximate_tokens(SUMMARY_HEADING)
            + message_tokens(text))


def _within(facts: Sequence[str], tokens: int) -> list[str]:
    kept, used = [], 0
    for fact in facts:  # best first
        used += approximate_tokens(fact) + 1
        if used > tokens:
            break
        kept.append(fact)
    return kept


def _messages(system: str, history: Sequence[DialogueTurn], text: str, lore: str = ""
              ) -> list[ChatMessage]:
    # The keyed lore the words fire goes right before them, so the system message (and the
    # tool list a backend puts after it) stays one cached prefix (personas.persona_prompt).
    note = [ChatMessage(role="system", content=lore)] if lore else []
    return [ChatMessage(role="system", content=system), *history_messages(history), *note,
            ChatMessage(role="user", content=text)]


def _plain_builder(store, budget: int):
    from memory import ContextWindowBuilder

    return ContextWindowBuilder(_NoSummaries(store), budget_tokens=budget)


async def _caller_facts(ctx: TurnContext, text: str) -> tuple[list[str], list[str]]:
    facts = ctx.services.facts
    if facts is None or not ctx.user_id:
        return [], []
    return await facts.for_prompt(ctx.user_id, text)


class _NoSummaries:
    """A store without summaries (a custom `DialogueStore`): history only."""

    def __init__(self, store) -> None:
        self.store = store

    async def history(self, conversation_id: str, limit: int | None = None):
        return await self.store.history(conversation_id, limit)

    async def latest_summary(self, conversation_id: str):
        return None
