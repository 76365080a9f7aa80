"""One lock per conversation, kept only while a turn holds it or waits for it.

Turns of one conversation run one after another (each reads the history the previous one
wrote), so each conversation needs a lock. A server answers many thousands of conversations
over its life; a lock per conversation kept forever is a slow leak (one entry per call,
measured by `bench/soak.py`). Here the lock exists while at least one turn holds it or waits
for it, and is dropped when the last one leaves: the next turn of that conversation makes a
fresh one, which is equivalent since nobody could be waiting on the old one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class _Entry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # turns holding or waiting for `lock`


class ConversationLocks:
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        """Conversations with a turn running or waiting (what this object keeps in memory)."""
        return len(self._entries)

    def __contains__(self, conversation_id: object) -> bool:
        return conversation_id in self._entries

    @asynccontextmanager
    async def hold(self, conversation_id: str) -> AsyncIterator[None]:
        """`async with locks.hold(cid):` the conversation's turn runs alone."""
        entry = self._entries.setdefault(conversation_id, _Entry())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            # Also on cancellation while waiting: a cancelled waiter must not pin the entry.
            entry.users -= 1
            if entry.users == 0 and self._entries.get(conversation_id) is entry:
                del self._entries[conversation_id]
