"""A session taking hold of its conversation, on whichever worker it runs.

Opening conversation X (`?conversation_id=X`, or `session.update`):
1. the id is checked (`identity.check_conversation_id`) and the caller must own X or X must
   be new (`owners.py`; a new X is created owned by the caller);
2. the session takes X's lease on the bus. **A second socket for a conversation takes it
   over**: the session holding it is told (`takeover` signal), stops its reply keeping the
   words played, writes its history, sends the client a `conversation_taken_over` error and
   closes (code 4409). A caller whose network dropped reconnects at once this way, even while
   the old socket still looks alive to its worker. A holder that does not answer within
   `handover_s` (a worker killed with -9) loses the lease anyway;
3. the session listens for signals to X: `cancel` (stop the reply) and `approval` (a yes or no
   from a web form, answered as the caller's turn);
4. the lease is refreshed every `lease_ttl_s / 3`; a lease lost to another session counts as
   a take-over.

History, caller facts, persona and paused approvals need nothing here: they are in the
database every worker shares, and the next turn reads them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from agent.realtime.cluster.bus import ConversationBus, LocalBus, Signal
from agent.realtime.cluster.drain import Drain
from agent.realtime.cluster.identity import Caller
from agent.realtime.cluster.owners import ConversationOwners
from memory.conversation_owner import ConversationClaim

log = logging.getLogger("stepvox.realtime.cluster")
TAKEN_OVER_CODE = 4409  # an application close code: "another socket has this conversation"
APPROVED_TEXT = "Yes (answered in the web form)."
DECLINED_TEXT = "No (answered in the web form)."


@dataclass
class ClusterOptions:
    """What every session of one worker shares."""

    bus: ConversationBus = field(default_factory=LocalBus)
    drain: Drain = field(default_factory=Drain)
    lease_ttl_s: float = 15.0
    handover_s: float = 3.0
    reply_ttl_s: float = 600.0
    owners: ConversationOwners | None = None  # set by the server from the agent's store


class ConversationBinding:
    """One session's hold on one conversation at a time."""

    def __init__(self, options: ClusterOptions, session_id: str, caller: Caller,
                 on_signal: Callable[[Signal], Awaitable[None]],
                 on_lost: Callable[[], Awaitable[None]]) -> None:
        self.options = options
        self.session_id = session_id
        self.caller = caller
        self.on_signal = on_signal
        self.on_lost = on_lost  # taken over, or the lease lost: the session must close
        self.conversation_id: str | None = None
        self.lost = False
        self._unlisten: Callable[[], None] | None = None
        self._refresher: asyncio.Task | None = None

    @property
    def bus(self) -> ConversationBus:
        return self.options.bus

    async def bind(self, conversation_id: str, persona: str | None = None) -> ConversationClaim:
        """Take `conversation_id` (raises `owners.ConversationForbidden` when it is
        another caller's; anything the bus raises passes through)."""
        owners = self.options.owners
        user = self.caller.user_id
        claim = await owners.claim(conversation_id, user, persona) if owners else None
        await self._take_lease(conversation_id)
        self.conversation_id = conversation_id
        self._unlisten = self.bus.listen(conversation_id, self._signal)
        if (subscribed := getattr(self.bus, "start", None)) is not None:
            await subscribed()  # Redis: signals sent from now on reach this session
        self._refresher = asyncio.get_running_loop().create_task(self._refresh())
        if owners is not None:  # reopened: the session it took over may have ended it
            claim = await owners.claim(conversation_id, user, persona)
        return claim or ConversationClaim(conversation_id, user, True, 0)

    async def _take_lease(self, conversation_id: str) -> None:
        ttl = self.options.lease_ttl_s
        holder = await self.bus.acquire(conversation_id, self.session_id, ttl)
        if holder is None:
            return
        log.info("session %s takes conversation %s over from %s", self.session_id,
                 conversation_id, holder)
        await self.bus.publish(Signal(type="takeover", conversation_id=conversation_id,
                                      sender=self.session_id))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.handover_s
        while loop.time() < deadline:
            await asyncio.sleep(0.05)
            if await self.bus.acquire(conversation_id, self.session_id, ttl) is None:
                return
        log.warning("session %s holding conversation %s did not hand it over within %.1f s "
                    "(its worker is gone?): taking it", holder, conversation_id,
                    self.options.handover_s)
        await self.bus.force(conversation_id, self.session_id, ttl)

    async def _signal(self, signal: Signal) -> None:
        if signal.sender == self.session_id or self.lost:
            return
        if signal.type == "takeover":
            await self._lose()
        else:
            await self.on_signal(signal)

    async def _refresh(self) -> None:
        ttl = self.options.lease_ttl_s
        while True:
            await asyncio.sleep(ttl / 3)
            try:
                held = await self.bus.refresh(self.conversation_id, self.session_id, ttl)
            except Exception as exc:  # Redis unreachable: keep serving, try again
                log.warning("could not refresh the lease of %s: %s", self.conversation_id, exc)
                continue
            if not held:
                asyncio.get_running_loop().create_task(self._lose())
                return

    async def _lose(self) -> None:
        if self.lost:
            return
        self.lost = True
        await self.on_lost()

    async def unbind(self) -> None:
        """Stop listening and hand the lease back (after the session wrote its history)."""
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)
            self._refresher = None
        if self.conversation_id is not None:
            try:
                await self.bus.release(self.conversation_id, self.session_id)
            except Exception as exc:
                log.warning("could not release the lease of %s: %s", self.conversation_id, exc)
        self.conversation_id = None
