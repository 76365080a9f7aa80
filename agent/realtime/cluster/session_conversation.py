"""The conversation side of one realtime session: which conversation it serves, and what
reaches it from other workers (see `binding.py` for the rules).

The session (`agent/realtime/session.py`) calls `open` when the socket opens, `switch` for
`session.update {"conversation_id": ...}`, `truncate_previous` for a truncate naming a reply
another worker played, and `close` at the end. Failures are answered with `error` events:

- `invalid_conversation_id`: not 1-128 of letters, digits, `._:-`;
- `conversation_forbidden`: the conversation is another caller's;
- `conversation_unavailable`: the database or Redis could not be reached;
- `conversation_taken_over`: a newer socket took this conversation (then closed, 4409);
- `server_draining`: the worker is shutting down (between turns; then closed, 1012).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from agent.realtime.cluster.binding import (
    APPROVED_TEXT, DECLINED_TEXT, TAKEN_OVER_CODE, ClusterOptions, ConversationBinding,
)
from agent.realtime.cluster.bus import Signal
from agent.realtime.cluster.identity import Caller, InvalidConversationId, check_conversation_id
from agent.realtime.cluster.owners import ConversationForbidden
from agent.realtime.cluster.reply_journal import ReplyJournal
from agent.realtime.controller_events import ConversationState, ReplyTruncated
from agent.realtime.protocol import error_event, server_event
from memory.turn_journal import SqlTurnJournal

log = logging.getLogger("stepvox.realtime.cluster")
DRAINING_CODE = 1012  # "service restart": reconnect, to another worker


class SessionConversation:
    def __init__(self, session: Any, options: ClusterOptions, caller: Caller) -> None:
        self.session = session
        self.options = options
        self.caller = caller
        self.binding = ConversationBinding(options, session.id, caller, self._on_signal,
                                           self._on_lost)
        self.resumed = False  # the conversation had turns before this session
        self.ended = True  # nothing to end until a conversation is bound
        self._watch: asyncio.Task | None = None
        store = options.owners.store if options.owners is not None else None
        self.sql = SqlTurnJournal(store) if store is not None else None
        if self.sql is not None:
            journal = ReplyJournal(self.sql, options.bus, options.reply_ttl_s)
            session.controller.journal = session.controller.history.journal = journal

    @property
    def controller(self):
        return self.session.controller

    @property
    def conversation_id(self) -> str:
        return self.controller.conversation_id

    async def open(self, requested: str | None) -> bool:
        """Take the requested conversation (or a new one). False: an error was sent and
        the socket must close."""
        if requested is not None:
            try:
                check_conversation_id(requested)
            except InvalidConversationId as exc:
                self.session.send(error_event("invalid_conversation_id", str(exc)))
                return False
        if not await self._bind(requested or self.conversation_id, None,
                                degraded_ok=requested is None):
            return False
        self._watch = asyncio.get_running_loop().create_task(self._close_when_draining())
        return True

    async def _bind(self, conversation_id: str, event_id: str | None,
                    degraded_ok: bool = False) -> bool:
        persona = self.controller.agent.persona.name
        try:
            claim = await self.binding.bind(conversation_id, persona)
        except ConversationForbidden as exc:
            self.session.send(error_event("conversation_forbidden", str(exc), event_id=event_id))
            return False
        except Exception as exc:  # database or Redis unreachable
            log.warning("could not open conversation %s: %s", conversation_id, exc)
            if degraded_ok:
                # A new conversation still gets its answers through an outage (the buffered
                # history store keeps its turns); it just cannot be continued elsewhere yet.
                await self.binding.unbind()
                self.controller.base_agent.open_conversation(conversation_id,
                                                             self.caller.user_id)
                self.ended = False
                return True
            self.session.send(error_event(
                "conversation_unavailable", f"conversation {conversation_id!r} cannot be opened "
                f"now ({type(exc).__name__}); try again", kind="server_error", event_id=event_id))
            return False
        self.controller.conversation_id = conversation_id
        self.controller.base_agent.open_conversation(conversation_id, self.caller.user_id)
        self.resumed = not claim.created and claim.turns > 0
        self.ended = False
        return True

    def persona_changed(self) -> None:
        """A persona's agent took over the session: it must know the caller too."""
        self.controller.base_agent.open_conversation(self.conversation_id, self.caller.user_id)

    async def switch(self, requested: object, event_id: str | None) -> bool:
        """`session.update` names a conversation. False: an error was sent; the session
        stays on its conversation."""
        try:
            new = check_conversation_id(requested)
        except InvalidConversationId as exc:
            self.session.send(error_event("invalid_conversation_id", str(exc), event_id=event_id))
            return False
        if new == self.conversation_id:
            return True
        owners = self.options.owners
        try:  # refused before the current conversation is let go
            if owners is not None:
                await owners.claim(new, self.caller.user_id, self.controller.agent.persona.name)
        except ConversationForbidden as exc:
            self.session.send(error_event("conversation_forbidden", str(exc), event_id=event_id))
            return False
        except Exception as exc:
            self.session.send(error_event("conversation_unavailable", str(exc),
                                          kind="server_error", event_id=event_id))
            return False
        await self._leave()
        if await self._bind(new, event_id):
            return True
        await self._bind(self.conversation_id, None)  # back to the one it had
        return False

    async def _leave(self) -> None:
        await self.controller.cancel_reply()  # the words played stay in history
        await self.controller.history.flush()
        await self._hand_back()

    async def _hand_back(self, taken: bool = False) -> None:
        """History is written: release the lease at once (a session waiting to take the
        conversation over goes on now), then end it here. Ending runs the fact extraction,
        a model call: done after the release, and skipped when another session already
        continues the conversation (it will end it, and learn from all of it)."""
        conversation_id = self.conversation_id
        await self.binding.unbind()
        if not taken:
            try:
                taken = await self.options.bus.holder(conversation_id) is not None
            except Exception:
                taken = False
        await self._end(elsewhere=taken)

    async def _end(self, elsewhere: bool = False) -> None:
        if not self.ended:
            self.ended = True
            await self.controller.agent.end_conversation(self.conversation_id,
                                                         elsewhere=elsewhere)

    async def _on_signal(self, signal: Signal) -> None:
        if signal.type == "cancel":
            cancelled = await self.controller.cancel_reply()
            log.info("conversation %s: cancel from another connection (%s)",
                     self.conversation_id, "reply stopped" if cancelled else "no reply")
        elif signal.type == "approval":
            text = APPROVED_TEXT if signal.approve else DECLINED_TEXT
            self.session.send(server_event("conversation.item.created", item={
                "type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": text}]}))
            await self.controller.respond_to_text(text)

    async def _on_lost(self) -> None:
        """Another socket took the conversation: write history, hand over, close."""
        await self.controller.close()
        await self._hand_back(taken=True)
        self.session.send(error_event(
            "conversation_taken_over", f"conversation {self.conversation_id!r} was opened by "
            "another socket, which now has it; this one is closed"))
        await asyncio.sleep(0.05)  # let the sender flush the error first
        await self.session._close(TAKEN_OVER_CODE, "conversation taken over by another socket")

    async def _close_when_draining(self) -> None:
        await self.options.drain.event().wait()
        # Live sessions finish the turn they are in: the user's words and the reply.
        while self.controller.state != ConversationState.SILENCE:
            await asyncio.sleep(0.1)
        self.session.send(error_event(
            "server_draining", "this worker is shutting down: reconnect with "
            f"conversation_id={self.conversation_id} to continue", kind="server_error"))
        await asyncio.sleep(0.05)
        await self.session._close(DRAINING_CODE, "server draining: reconnect")

    async def truncate_previous(self, response_id: str, audio_end_ms: int,
                                content_index: int) -> bool:
        """A truncate for a reply this session did not play (sent by another worker before
        the client reconnected here): cut its stored text where playback stopped."""
        if self.sql is None:
            return False
        try:
            timeline = await self.options.bus.last_reply(self.conversation_id)
            if timeline is None or timeline.response_id != response_id:
                return False
            played_s = min(audio_end_ms / 1000, timeline.total_s)
            played = timeline.played_text(played_s)
            await self.sql.amend(self.conversation_id, timeline.seq, text=played,
                                 audio_duration_s=round(played_s, 3), interrupted=True)
        except Exception as exc:
            log.warning("could not truncate %s: %s", response_id, exc)
            return False
        await self.session._on_controller_event(ReplyTruncated(
            response_id, played, round(played_s, 3), by_client=True, content_index=content_index))
        return True

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        if self.ended:  # never bound, or handed over already
            await self.binding.unbind()
            return
        await self._hand_back()
