"""A loopback TCP proxy that injects faults, in the spirit of toxiproxy.

It sits between stepvox and a real server on this machine (a PostgreSQL server, an
OpenAI-compatible LLM server) and forwards bytes both ways until told to misbehave:

    with FaultProxy(upstream_port) as proxy:        # 127.0.0.1:proxy.port -> upstream
        proxy.answer_http(503)      # new connections get an HTTP 503, upstream never sees them
        proxy.stall_after(400)      # after 400 bytes of response body, the server goes silent
        proxy.cut_after(400)        # after 400 bytes of response body, the connection is reset
        proxy.go_down()             # open connections are reset, new ones refused (a restart)
        proxy.come_up()             # listening again on the same port
        proxy.heal()                # every fault off (connections opened from now on)

The byte counts are of the server's answer after its HTTP header (the first blank line), so a
cut lands in the middle of a streamed reply rather than in its header; for a protocol without
a header (PostgreSQL) use `go_down`. It runs its own event loop in a thread, so a blocking
test and an async one drive it alike, and a test's own loop being busy never stalls it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from dataclasses import dataclass

_HEADER_END = b"\r\n\r\n"


@dataclass(frozen=True)
class _Faults:
    http_status: int | None = None
    stall_after: int | None = None  # body bytes forwarded before the silence
    cut_after: int | None = None  # body bytes forwarded before the reset


class FaultProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.faults = _Faults()
        self.connections = 0  # accepted so far
        self.fired: list[int] = []  # body bytes forwarded on each connection a fault hit
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="fault-proxy")
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._released = asyncio.Event()  # set when the proxy closes: stalls end
        self.port = free_port()  # kept across go_down / come_up

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self.come_up()
        return self

    def __exit__(self, *exc) -> None:
        self.go_down()
        self._run(self._end_connections())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # -- faults ------------------------------------------------------------------------------

    def heal(self) -> None:
        self.faults = _Faults()

    def answer_http(self, status: int) -> None:
        self.faults = _Faults(http_status=status)

    def stall_after(self, body_bytes: int) -> None:
        self.faults = _Faults(stall_after=body_bytes)

    def cut_after(self, body_bytes: int) -> None:
        self.faults = _Faults(cut_after=body_bytes)

    def go_down(self) -> None:
        """Like a server restart: every open connection is reset and nothing listens."""
        self._run(self._go_down())

    def come_up(self) -> None:
        self._run(self._come_up())

    # -- inside the proxy's loop -------------------------------------------------------------

    def _run(self, coro) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _come_up(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port,
                                                      reuse_address=True)

    async def _go_down(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()

    async def _end_connections(self) -> None:
        """Stalled connections wait until now: let them end before the loop closes (a
        cancelled connection handler is logged by asyncio as an error)."""
        self._released.set()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        faults = self.faults  # a connection keeps the faults it was opened under
        self._writers.add(writer)
        try:
            if faults.http_status is not None:
                await _answer_http(reader, writer, faults.http_status)
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            except OSError:
                _reset(writer)
                return
            self._writers.add(up_writer)
            upstream = asyncio.create_task(_pipe(reader, up_writer))
            try:
                await self._answer(up_reader, writer, faults)
            finally:
                upstream.cancel()
                await asyncio.gather(upstream, return_exceptions=True)
                self._writers.discard(up_writer)
                _reset(up_writer)
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer(self, up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      faults: _Faults) -> None:
        """Server -> client, counting body bytes, until the server ends or a fault fires."""
        limit = faults.cut_after if faults.cut_after is not None else faults.stall_after
        header, in_header, body = b"", limit is not None, 0
        while data := await up_reader.read(4096):
            if in_header:
                header += data
                end = header.find(_HEADER_END)
                if end < 0:
                    writer.write(data)
                    continue
                head_part = len(data) - (len(header) - end - len(_HEADER_END))
                writer.write(data[:head_part])
                data, in_header = data[head_part:], False
            if limit is not None and body + len(data) >= limit:
                writer.write(data[:limit - body])
                await writer.drain()
                self.fired.append(limit)
                if faults.cut_after is not None:
                    _reset(writer)
                    return
                await self._released.wait()  # stalled: silent and open until the end
                _reset(writer)
                return
            body += len(data)
            writer.write(data)
            await writer.drain()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(4096):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass


async def _answer_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       status: int) -> None:
    try:
        await reader.readuntil(_HEADER_END)  # the request head; its body is never read
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return
    body = json.dumps({"error": {"message": f"injected HTTP {status}", "code": status}}).encode()
    writer.write(f"HTTP/1.1 {status} Injected Fault\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST, not FIN: what a crashed server or a cut network looks like."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()
