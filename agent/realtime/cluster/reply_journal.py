"""The user's turn and the part of the reply already sent, in the database while it plays.

The session's history (`played_history.py`) holds a reply until what was played of it is
known, which only this process knows. A worker killed with -9 in that window would lose the
turn. The journal writes ahead (`memory.turn_journal`):

- when the user's words are known (the turn's transcript): their turn and an empty assistant
  turn marked interrupted, in one transaction;
- before each audio chunk is sent: the assistant row rewritten to the sentences sent so far,
  this one included. The chunk waits for that write (one short UPDATE): a worker killed at
  any moment leaves in the database at least what the caller was sent, and at most the one
  chunk it was about to send;
- when the reply is settled (played out, cut short, or the session ends): the provisional
  rows replaced by the turn's final rows in one transaction.

While a reply is journaled, its provisional rows are hidden from this session's own reads
(the held turns stand in for them), so a prompt never holds the user's words twice. The turn
builds its prompt while the journal writes (LangGraph does not wait for the transcript's
reader), so a read asks what to hide only after its rows came back (`hidden` then waits for
a write in progress): any provisional row it saw is one the journal knows by then. The
reply's timeline (sentences and their seconds) goes to the bus, so a client that reconnects
to another worker can still say where its playback stopped (`binding.py`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from agent.events import AudioChunkEvent, TranscriptEvent, TurnEvent
from agent.realtime.cluster.bus import ConversationBus, ReplyTimeline
from memory import DialogueTurn
from memory.turn_journal import SqlTurnJournal

log = logging.getLogger("stepvox.realtime.cluster")


@dataclass
class _Journaled:
    conversation_id: str
    response_id: str
    seqs: list[int]  # the provisional rows: the user's turn, the assistant's
    sentences: dict[int, list] = field(default_factory=dict)  # index -> [text, seconds]
    dirty: bool = False  # the timeline changed since the bus last got it
    writer: asyncio.Task | None = None  # the timeline's write to the bus

    def sent_text(self) -> tuple[str, float]:
        parts = [s for _, s in sorted(self.sentences.items())]
        return " ".join(t for t, _ in parts), round(sum(s for _, s in parts), 3)

    def timeline(self, seq: int) -> ReplyTimeline:
        return ReplyTimeline(response_id=self.response_id, seq=seq, sentences=[
            (text, seconds) for _, (text, seconds) in sorted(self.sentences.items())])


class ReplyJournal:
    def __init__(self, sql: SqlTurnJournal, bus: ConversationBus | None = None,
                 reply_ttl_s: float = 600.0) -> None:
        self.sql = sql
        self.bus = bus
        self.reply_ttl_s = reply_ttl_s
        self._open: dict[str, _Journaled] = {}  # conversation id -> the reply journaled
        self._opening: dict[str, asyncio.Future] = {}  # writes of provisional rows under way
        self._warned = False
        # After a failed write the journal rests this long: during a database outage the
        # audio must not wait on a connection timeout per chunk (the buffered store keeps
        # the turns meanwhile; only the write-ahead is lost).
        self.rest_s = 10.0
        self._resting_until = 0.0

    def _resting(self) -> bool:
        return asyncio.get_running_loop().time() < self._resting_until

    async def hidden(self, conversation_id: str) -> set[int]:
        """The provisional rows of `conversation_id` (call after reading its rows)."""
        if (opening := self._opening.get(conversation_id)) is not None:
            await asyncio.shield(opening)
        entry = self._open.get(conversation_id)
        return set(entry.seqs) if entry is not None else set()

    async def observe(self, conversation_id: str, response_id: str, event: TurnEvent) -> None:
        """Called by the controller before each event of a reply is sent."""
        if self._resting():
            return
        if isinstance(event, TranscriptEvent) and event.text.strip():
            await self._begin(conversation_id, response_id, event.text)
        elif isinstance(event, AudioChunkEvent):
            entry = self._open.get(conversation_id)
            if entry is None or entry.response_id != response_id:
                return
            sentence = entry.sentences.setdefault(event.sentence_index, [event.chunk.text, 0.0])
            sentence[1] += event.chunk.duration_s
            text, seconds = entry.sent_text()
            try:
                await self.sql.amend(conversation_id, entry.seqs[-1], text=text,
                                     audio_duration_s=seconds)
            except Exception as exc:
                self._warn(exc)
            # The timeline only serves a later truncate: it goes to the bus in the background,
            # one write at a time, the latest winning.
            entry.dirty = True
            if self.bus is not None and (entry.writer is None or entry.writer.done()):
                entry.writer = asyncio.get_running_loop().create_task(self._remember(entry))

    async def _begin(self, conversation_id: str, response_id: str, transcript: str) -> None:
        entry = self._open.get(conversation_id)
        if entry is not None and entry.response_id == response_id:
            return  # a committed speculation reports its transcript again
        opening = self._opening[conversation_id] = asyncio.get_running_loop().create_future()
        try:
            seqs = await self.sql.open(conversation_id, [
                DialogueTurn(role="user", text=transcript),
                DialogueTurn(role="assistant", text="", interrupted=True)])
            self._open[conversation_id] = _Journaled(conversation_id, response_id, seqs)
        except Exception as exc:  # the buffered store keeps the turn; only the journal is lost
            self._warn(exc)
        finally:
            opening.set_result(None)
            if self._opening.get(conversation_id) is opening:
                del self._opening[conversation_id]

    async def _remember(self, entry: _Journaled) -> None:
        while entry.dirty:
            entry.dirty = False
            try:
                await self.bus.remember_reply(entry.conversation_id,
                                              entry.timeline(entry.seqs[-1]), self.reply_ttl_s)
            except Exception as exc:
                self._warn(exc)
                return

    async def settle(self, conversation_id: str, turns: Sequence[DialogueTurn]) -> bool:
        """Replace the provisional rows by `turns`. False: nothing journaled for this
        conversation, or the database refused (the caller appends `turns` instead)."""
        entry = self._open.pop(conversation_id, None)
        if entry is None:
            return False
        if entry.writer is not None:
            await asyncio.gather(entry.writer, return_exceptions=True)
        try:
            seqs = await self.sql.replace(conversation_id, entry.seqs, turns)
        except Exception as exc:
            self._warn(exc)
            return False
        assistant = [s for s, t in zip(seqs, turns) if t.role == "assistant"]
        if self.bus is not None and assistant and entry.sentences:
            try:
                await self.bus.remember_reply(conversation_id, entry.timeline(assistant[-1]),
                                              self.reply_ttl_s)
            except Exception as exc:
                self._warn(exc)
        return True

    async def withdraw(self, response_id: str) -> None:
        """The user's turn went on: it is asked again as a whole, so its rows go."""
        for cid, entry in list(self._open.items()):
            if entry.response_id == response_id:
                if entry.writer is not None:
                    await asyncio.gather(entry.writer, return_exceptions=True)
                try:
                    await self.sql.discard(cid, entry.seqs)
                except Exception as exc:
                    self._warn(exc)
                if self._open.get(cid) is entry:
                    del self._open[cid]

    def _warn(self, exc: Exception) -> None:
        self._resting_until = asyncio.get_running_loop().time() + self.rest_s
        # Logged once per session: an outage is already logged by the buffered store.
        if not self._warned:
            self._warned = True
            log.warning("reply journal unavailable (%s): a worker killed now would lose the "
                        "reply in progress", exc)
