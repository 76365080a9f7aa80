"""`RedisBus`: the conversation bus (`bus.py`) across workers, on redis-py's asyncio client.

Keys (prefix `stepvox:` by default):
- `lease:<conversation id>`: the session holding it, with a TTL its worker refreshes; a worker
  killed with -9 stops refreshing and the lease runs out;
- `reply:<conversation id>`: the latest reply's timeline (JSON), kept for `reply_ttl_s`;
- channel `signal:<conversation id>`: signals, as JSON. Each worker subscribes once to the
  pattern `signal:*` and hands a signal to its own sessions of that conversation: signals are
  rare (a take-over, a cancel, an approval), so one subscription per worker is cheaper than
  one connection per session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from agent.realtime.cluster.bus import Handler, Listeners, ReplyTimeline, Signal

log = logging.getLogger("stepvox.realtime.cluster")

# Compare-and-set on the holder: a worker never extends or drops another session's lease.
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisBus:
    def __init__(self, url: str, *, prefix: str = "stepvox:") -> None:
        import redis.asyncio as redis

        self.url = url
        self.prefix = prefix
        # Short timeouts: a Redis that went away must fail a readiness probe or a session
        # start in seconds, not hang it.
        self.redis = redis.from_url(url, socket_connect_timeout=3, socket_timeout=5,
                                    health_check_interval=30)
        self._refresh = self.redis.register_script(_REFRESH)
        self._release = self.redis.register_script(_RELEASE)
        self.listeners = Listeners()
        self._reader: asyncio.Task | None = None
        self._subscribed = asyncio.Event()

    def _key(self, kind: str, conversation_id: str) -> str:
        return f"{self.prefix}{kind}:{conversation_id}"

    async def acquire(self, conversation_id: str, holder: str, ttl_s: float) -> str | None:
        key = self._key("lease", conversation_id)
        if await self.redis.set(key, holder, nx=True, px=int(ttl_s * 1000)):
            return None
        current = await self.redis.get(key)
        if current is None:  # expired between the two calls: try once more
            return await self.acquire(conversation_id, holder, ttl_s)
        current = current.decode()
        if current == holder:
            await self.refresh(conversation_id, holder, ttl_s)
            return None
        return current

    async def force(self, conversation_id: str, holder: str, ttl_s: float) -> None:
        await self.redis.set(self._key("lease", conversation_id), holder, px=int(ttl_s * 1000))

    async def refresh(self, conversation_id: str, holder: str, ttl_s: float) -> bool:
        return bool(await self._refresh(keys=[self._key("lease", conversation_id)],
                                        args=[holder, int(ttl_s * 1000)]))

    async def release(self, conversation_id: str, holder: str) -> None:
        await self._release(keys=[self._key("lease", conversation_id)], args=[holder])

    async def holder(self, conversation_id: str) -> str | None:
        current = await self.redis.get(self._key("lease", conversation_id))
        return current.decode() if current is not None else None

    async def publish(self, signal: Signal) -> None:
        await self.redis.publish(self._key("signal", signal.conversation_id),
                                 signal.model_dump_json())

    def listen(self, conversation_id: str, handler: Handler) -> Callable[[], None]:
        self._start_reader()
        return self.listeners.add(conversation_id, handler)

    def _start_reader(self) -> None:
        if self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._read())

    async def start(self, timeout_s: float = 5.0) -> None:
        """Subscribe now (at server start), so no signal sent later is missed."""
        self._start_reader()
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout_s)
        except TimeoutError:
            log.warning("not subscribed to Redis signals after %.0f s (%s); /readyz says so",
                        timeout_s, self.url)

    async def _read(self) -> None:
        delay = 0.5
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(self._key("signal", "*"))
                self._subscribed.set()
                delay = 0.5
                async for message in pubsub.listen():
                    if message.get("type") != "pmessage":
                        continue
                    try:
                        signal = Signal.model_validate_json(message["data"])
                    except ValueError:
                        log.warning("ignored a malformed signal on %s", message.get("channel"))
                        continue
                    asyncio.get_running_loop().create_task(self.listeners.dispatch(signal))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis restarted or unreachable: resubscribe
                self._subscribed.clear()
                log.warning("signals from Redis interrupted (%s); resubscribing in %.1f s",
                            exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:
                    pass

    async def remember_reply(self, conversation_id: str, timeline: ReplyTimeline,
                             ttl_s: float) -> None:
        await self.redis.set(self._key("reply", conversation_id), timeline.model_dump_json(),
                             px=int(ttl_s * 1000))

    async def last_reply(self, conversation_id: str) -> ReplyTimeline | None:
        raw = await self.redis.get(self._key("reply", conversation_id))
        return ReplyTimeline.model_validate_json(raw) if raw is not None else None

    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        await self.redis.aclose()
