"""Remembering who the caller is across conversations: their name, and a greeting by name.

Works when the agent's history is a SQL store (directly or behind `BufferedDialogueStore`):
the user's display name is a fact kept per user (`memory.SqlFactStore`). A name is learnt
when the caller says it in plain words ("my name is Alice", "call me Bob"); guessing names
from looser phrasing ("I'm tired") would store nonsense, so only those forms count.
"""

from __future__ import annotations

import logging
import re

from memory import DialogueStore
from personas import Persona

log = logging.getLogger(__name__)
_NAME = re.compile(r"\b(?:my name is|my name's|call me|this is)\s+([A-Z][\w'-]{1,30})")


def spoken_name(transcript: str) -> str | None:
    """The name a caller gives in `transcript`, if they give one plainly."""
    match = _NAME.search(transcript)
    return match.group(1) if match else None


def sql_store(memory: DialogueStore):
    """The SQL store under `memory` (directly or behind a `BufferedDialogueStore`), or None."""
    store = getattr(memory, "primary", memory)
    return store if hasattr(store, "start_conversation") else None


class CallerMemory:
    """Per-user facts for one agent; a no-op when its history store is not SQL."""

    def __init__(self, memory: DialogueStore) -> None:
        self._store = sql_store(memory)
        self._started: set[str] = set()

    @property
    def enabled(self) -> bool:
        return self._store is not None

    @property
    def store(self):
        """The SQL store under the agent's history, or None."""
        return self._store

    @property
    def database_url(self):
        """The history database's URL (for checkpoints beside it), or None."""
        return getattr(self._store, "url", None)

    def _facts(self):
        from memory import SqlFactStore

        return SqlFactStore(self._store)

    async def start(self, conversation_id: str, user_id: str | None, persona: Persona) -> None:
        """Record who the conversation is with, once per conversation."""
        if self._store is None or conversation_id in self._started:
            return
        self._started.add(conversation_id)
        try:
            await self._store.start_conversation(conversation_id, user_id=user_id,
                                                 persona=persona.name)
        except Exception as exc:  # a database outage must not cost the caller their answer
            log.warning("could not record the conversation's user: %s", exc)
            # Tried again next turn: filed under no user, `history delete --user` would miss it.
            self._started.discard(conversation_id)

    def forget(self, conversation_id: str) -> None:
        """The conversation has ended: stop remembering that it was recorded."""
        self._started.discard(conversation_id)

    async def learn(self, user_id: str | None, transcript: str) -> None:
        name = spoken_name(transcript)
        if self._store is not None and user_id and name:
            try:
                await self._facts().set_display_name(user_id, name)
            except Exception as exc:
                log.warning("could not store the caller's name: %s", exc)

    async def greeting(self, persona: Persona, user_id: str | None) -> str:
        name = None
        if self._store is not None and user_id:
            try:
                name = await self._facts().display_name(user_id)
            except Exception as exc:
                log.warning("could not look up the caller's name: %s", exc)
        if name:
            return f"Welcome back, {name}! How can I help you today?"
        return persona.greeting_text()
