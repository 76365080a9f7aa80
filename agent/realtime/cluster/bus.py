"""What workers tell each other about a conversation, behind one protocol.

- a lease: at most one live session per conversation (`acquire`, `refresh`, `release`,
  `force` for taking over from a worker that no longer answers);
- signals to the session holding a conversation: `takeover` (a newer socket wants it),
  `cancel` (stop the reply, from another connection), `approval` (a yes or no from a web
  form);
- the latest reply's timeline (what each sentence said and how long it played), so a client
  that reconnects to another worker can say where its playback stopped.

`LocalBus` does all of it inside one process (no Redis configured: one worker, as before);
`redis_bus.RedisBus` does it across workers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol

from pydantic import BaseModel

log = logging.getLogger("stepvox.realtime.cluster")


class Signal(BaseModel):
    type: Literal["takeover", "cancel", "approval"]
    conversation_id: str
    sender: str = ""  # the session or endpoint that sent it
    approve: bool | None = None  # approval: the answer


class ReplyTimeline(BaseModel):
    """The latest reply of a conversation: enough to cut its stored text where playback
    stopped, from any worker."""

    response_id: str
    seq: int  # the assistant row's position in the conversation
    sentences: list[tuple[str, float]]  # (text, seconds of audio), in order

    def played_text(self, played_s: float) -> str:
        left, words = played_s, []
        for text, seconds in self.sentences:
            parts = text.split()
            if left >= seconds - 1e-6:
                words += parts
                left -= seconds
                continue
            if seconds > 0:
                words += parts[:int(len(parts) * left / seconds)]
            break
        return " ".join(words)

    @property
    def total_s(self) -> float:
        return sum(seconds for _, seconds in self.sentences)


Handler = Callable[[Signal], Awaitable[None]]


class ConversationBus(Protocol):
    async def acquire(self, conversation_id: str, holder: str, ttl_s: float) -> str | None:
        """Take the lease; None when taken, else the current holder (not taken)."""
        ...

    async def force(self, conversation_id: str, holder: str, ttl_s: float) -> None: ...

    async def refresh(self, conversation_id: str, holder: str, ttl_s: float) -> bool:
        """Extend the lease; False when `holder` no longer has it."""
        ...

    async def release(self, conversation_id: str, holder: str) -> None: ...

    async def holder(self, conversation_id: str) -> str | None: ...

    async def publish(self, signal: Signal) -> None: ...

    def listen(self, conversation_id: str, handler: Handler) -> Callable[[], None]:
        """Call `handler` for each signal to the conversation; returns the unsubscribe."""
        ...

    async def remember_reply(self, conversation_id: str, timeline: ReplyTimeline,
                             ttl_s: float) -> None: ...

    async def last_reply(self, conversation_id: str) -> ReplyTimeline | None: ...

    async def ping(self) -> None:
        """Raises when the bus cannot be reached."""
        ...

    async def close(self) -> None: ...


class Listeners:
    """Handlers per conversation, in this process (both buses dispatch through it)."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}

    def add(self, conversation_id: str, handler: Handler) -> Callable[[], None]:
        self._handlers.setdefault(conversation_id, []).append(handler)

        def remove() -> None:
            handlers = self._handlers.get(conversation_id, [])
            if handler in handlers:
                handlers.remove(handler)
            if not handlers:
                self._handlers.pop(conversation_id, None)
        return remove

    def __len__(self) -> int:
        return len(self._handlers)

    async def dispatch(self, signal: Signal) -> None:
        for handler in list(self._handlers.get(signal.conversation_id, ())):
            try:
                await handler(signal)
            except Exception:  # one session's failure must not stop the others' signals
                log.exception("signal %s to %s failed", signal.type, signal.conversation_id)


class LocalBus:
    """The bus inside one process (no Redis configured)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 max_replies: int = 1_000) -> None:
        self.clock = clock
        self._leases: dict[str, tuple[str, float]] = {}  # id -> (holder, expires at)
        # Oldest first. Bounded: a long-running worker ends thousands of conversations, and
        # a timeline only serves a truncate sent soon after a reconnect.
        self._replies: OrderedDict[str, tuple[ReplyTimeline, float]] = OrderedDict()
        self.max_replies = max_replies
        self.listeners = Listeners()

    def _live(self, table: dict, key: str):
        entry = table.get(key)
        if entry is not None and entry[1] <= self.clock():
            del table[key]
            return None
        return entry

    async def acquire(self, conversation_id: str, holder: str, ttl_s: float) -> str | None:
        current = self._live(self._leases, conversation_id)
        if current is not None and current[0] != holder:
            return current[0]
        self._leases[conversation_id] = (holder, self.clock() + ttl_s)
        return None

    async def force(self, conversation_id: str, holder: str, ttl_s: float) -> None:
        self._leases[conversation_id] = (holder, self.clock() + ttl_s)

    async def refresh(self, conversation_id: str, holder: str, ttl_s: float) -> bool:
        current = self._live(self._leases, conversation_id)
        if current is None or current[0] != holder:
            return False
        self._leases[conversation_id] = (holder, self.clock() + ttl_s)
        return True

    async def release(self, conversation_id: str, holder: str) -> None:
        current = self._leases.get(conversation_id)
        if current is not None and current[0] == holder:
            del self._leases[conversation_id]

    async def holder(self, conversation_id: str) -> str | None:
        current = self._live(self._leases, conversation_id)
        return current[0] if current else None

    async def publish(self, signal: Signal) -> None:
        # A task, as with Redis: the sender never runs the receiver's handler inline.
        asyncio.get_running_loop().create_task(self.listeners.dispatch(signal))

    def listen(self, conversation_id: str, handler: Handler) -> Callable[[], None]:
        return self.listeners.add(conversation_id, handler)

    async def remember_reply(self, conversation_id: str, timeline: ReplyTimeline,
                             ttl_s: float) -> None:
        self._replies[conversation_id] = (timeline, self.clock() + ttl_s)
        self._replies.move_to_end(conversation_id)
        now = self.clock()
        while self._replies and (len(self._replies) > self.max_replies
                                 or next(iter(self._replies.values()))[1] <= now):
            self._replies.popitem(last=False)

    async def last_reply(self, conversation_id: str) -> ReplyTimeline | None:
        entry = self._live(self._replies, conversation_id)
        return entry[0] if entry else None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
