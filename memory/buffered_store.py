"""`BufferedDialogueStore`: a `DialogueStore` that keeps answering while its database is down.

A database outage must not cost the caller a spoken answer. While the wrapped store raises
`DatabaseUnavailableError`, appended turns wait in memory (in order, per conversation), the
outage is logged once, a background task retries with backoff, and the turns are written when
the database is back. Turns that still cannot be written when the store closes, or that
overflow `max_pending_turns`, are reported as lost in the log, never dropped silently.

Reads during an outage answer from the last history read for that conversation, the turns
written since, and the waiting turns, so the conversation keeps its thread.

Known limit: when a commit reached the database but its acknowledgement was lost with the
connection, the retry writes that block a second time.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence

from memory.dialogue import DialogueStore, DialogueTurn
from memory.errors import DatabaseUnavailableError

log = logging.getLogger(__name__)
_OUTAGE = (DatabaseUnavailableError, ConnectionError, TimeoutError)


class BufferedDialogueStore:
    def __init__(self, primary: DialogueStore, *, retry_interval_s: float = 1.0,
                 max_retry_interval_s: float = 30.0, max_pending_turns: int = 10_000,
                 cached_conversations: int = 1_000, cached_turns: int = 200) -> None:
        self.primary = primary
        self.retry_interval_s = retry_interval_s
        self.max_retry_interval_s = max_retry_interval_s
        self.max_pending_turns = max_pending_turns
        self.lost_turns = 0
        # conversation id -> blocks of turns not yet written, oldest first.
        self._pending: OrderedDict[str, list[list[DialogueTurn]]] = OrderedDict()
        self._last_read: OrderedDict[str, list[DialogueTurn]] = OrderedDict()
        self._cached_conversations = cached_conversations
        self._cached_turns = cached_turns  # per conversation, the newest
        self._flush_lock = asyncio.Lock()
        self._retry_task: asyncio.Task[None] | None = None
        self._outage_logged = False

    @property
    def pending_turns(self) -> int:
        return sum(len(block) for blocks in self._pending.values() for block in blocks)

    async def append(self, conversation_id: str, turns: Sequence[DialogueTurn]) -> None:
        block = [t.model_copy(deep=True) for t in turns]
        if not block:
            return
        if conversation_id not in self._pending:
            try:
                await self.primary.append(conversation_id, block)
                self._remember_written(conversation_id, block)
                return
            except _OUTAGE as exc:
                self._note_outage(exc)
        # Behind older waiting turns of the same conversation: queue, so order is kept.
        self._queue(conversation_id, block)
        self._start_retrying()

    async def history(self, conversation_id: str, limit: int | None = None) -> list[DialogueTurn]:
        if limit is not None and limit <= 0:
            return []
        try:
            stored = await self.primary.history(conversation_id, limit)
            self._remember_read(conversation_id, stored)
        except _OUTAGE as exc:
            self._note_outage(exc)
            stored = [t.model_copy(deep=True) for t in self._last_read.get(conversation_id, [])]
        waiting = [t.model_copy(deep=True) for block in self._pending.get(conversation_id, [])
                   for t in block]
        merged = stored + waiting
        return merged if limit is None else merged[-limit:]

    # -- running summaries: the wrapped store's, when it keeps them ------------------------

    async def latest_summary(self, conversation_id: str):
        """None while the database is down: the prompt goes on without the summary."""
        read = getattr(self.primary, "latest_summary", None)
        if read is None:
            return None
        try:
            return await read(conversation_id)
        except _OUTAGE as exc:
            self._note_outage(exc)
            return None

    async def turns_between(self, conversation_id: str, after_seq: int,
                            before_seq: int | None = None) -> list[DialogueTurn]:
        # Folding needs the stored turns with their positions; during an outage it raises and
        # the fold is tried again after a later turn.
        return await self.primary.turns_between(conversation_id, after_seq, before_seq)

    async def save_summary(self, conversation_id: str, text: str, through_seq: int) -> None:
        await self.primary.save_summary(conversation_id, text, through_seq)

    def forget(self, conversation_id: str) -> None:
        """The conversation has ended: drop its outage copy (turns still waiting are kept and
        written), so the copies are bounded by the conversations in progress."""
        self._last_read.pop(conversation_id, None)

    async def flush(self) -> bool:
        """Write every waiting turn, oldest first; True when none is left waiting."""
        async with self._flush_lock:
            written = 0
            for conversation_id in list(self._pending):
                blocks = self._pending[conversation_id]
                while blocks:
                    try:
                        await self.primary.append(conversation_id, blocks[0])
                    except _OUTAGE as exc:
                        self._note_outage(exc)
                        return False
                    self._remember_written(conversation_id, blocks[0])
                    written += len(blocks.pop(0))
                del self._pending[conversation_id]
            if written or self._outage_logged:
                log.warning("history database is back: wrote %d waiting turns", written)
            self._outage_logged = False
            return True

    async def close(self) -> None:
        """Stop retrying and make a last attempt; what is still waiting is reported lost."""
        if self._retry_task is not None:
            self._retry_task.cancel()
            await asyncio.gather(self._retry_task, return_exceptions=True)
            self._retry_task = None
        if self._pending and not await self.flush():
            self.lost_turns += self.pending_turns
            log.error("history database still unavailable at close: %d turns of %d "
                      "conversations were NOT stored (%s)", self.pending_turns,
                      len(self._pending), ", ".join(self._pending))
            self._pending.clear()
        close = getattr(self.primary, "close", None)
        if close is not None:
            await close()

    async def __aenter__(self) -> BufferedDialogueStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _queue(self, conversation_id: str, block: list[DialogueTurn]) -> None:
        self._pending.setdefault(conversation_id, []).append(block)
        while self.pending_turns > self.max_pending_turns:
            oldest_id = next(iter(self._pending))
            dropped = self._pending[oldest_id].pop(0)
            if not self._pending[oldest_id]:
                del self._pending[oldest_id]
            self.lost_turns += len(dropped)
            log.error("history buffer full (%d turns): %d turns of conversation %s were "
                      "dropped and will NOT be stored", self.max_pending_turns, len(dropped),
                      oldest_id)

    def _remember_read(self, conversation_id: str, turns: list[DialogueTurn]) -> None:
        self._last_read[conversation_id] = [t.model_copy(deep=True)
                                            for t in turns[-self._cached_turns:]]
        self._last_read.move_to_end(conversation_id)
        while len(self._last_read) > self._cached_conversations:
            self._last_read.popitem(last=False)

    def _remember_written(self, conversation_id: str, block: list[DialogueTurn]) -> None:
        # The outage copy must hold the turns written since the last read, or a database
        # that goes down between two turns makes the next prompt forget the previous turn
        # (found by stopping a real PostgreSQL server: tests/faults/test_database_restart.py).
        known = self._last_read.get(conversation_id)
        if known is not None:
            known.extend(t.model_copy(deep=True) for t in block)
            del known[:-self._cached_turns]

    def _note_outage(self, exc: BaseException) -> None:
        if not self._outage_logged:  # once per outage: a log line per turn would flood
            log.error("history database unavailable; keeping turns in memory and retrying: %s",
                      exc)
            self._outage_logged = True

    def _start_retrying(self) -> None:
        if self._retry_task is None or self._retry_task.done():
            self._retry_task = asyncio.create_task(self._retry_until_flushed(),
                                                   name="stepvox-history-retry")

    async def _retry_until_flushed(self) -> None:
        delay = self.retry_interval_s
        while self._pending:
            await asyncio.sleep(delay)
            try:
                if await self.flush():
                    return
            except Exception:  # a bug must not kill the retry loop silently
                log.exception("writing waiting history turns failed")
            delay = min(delay * 2, self.max_retry_interval_s)
