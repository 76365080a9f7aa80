"""A blocking websocket client that sends one `HostileCase` and reports how the server took it.

After the case's messages it sends a probe (an event of an unknown type with its own
event_id); the server handles a socket's messages in order, so the probe's `error` coming
back means every message before it was handled. Events in between are the case's answer.

    with FuzzSocket(url) as sock:
        outcome = sock.run(case)     # Outcome(errors=[codes], closed=None, answered=True)
        sock.normal_turn()           # a text turn still completes, or AssertionError
"""

from __future__ import annotations

import json
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from hostile_events import LAST_RESPONSE, HostileCase

# The only error codes that mean the server failed rather than refused the input.
SERVER_FAILURE_CODES = {"server_error"}


@dataclass
class Outcome:
    errors: list[str] = field(default_factory=list)  # error codes, in order
    closed: int | None = None  # the close code, when the server closed the socket
    answered: bool = True  # the probe came back in time

    @property
    def kind(self) -> str:
        if self.closed is not None:
            return f"closed:{self.closed}"
        if not self.answered:
            return "no_answer"
        return f"error:{self.errors[0]}" if self.errors else "accepted"

    @property
    def crashed(self) -> bool:
        return not self.answered or bool(SERVER_FAILURE_CODES & set(self.errors))


class FuzzSocket:
    def __init__(self, url: str, *, probe_timeout_s: float = 10.0) -> None:
        self.url = url
        self.probe_timeout_s = probe_timeout_s
        self.last_response = "resp_none"
        self.ws = None

    def __enter__(self) -> FuzzSocket:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        self._stack = ExitStack()
        self.ws = self._stack.enter_context(connect(self.url, max_size=None, open_timeout=10))
        self._read_until(lambda e: e["type"] == "session.created", self.probe_timeout_s)

    def close(self) -> None:
        if self.ws is not None:
            self._stack.close()
            self.ws = None

    def run(self, case: HostileCase) -> Outcome:
        outcome = Outcome()
        probe = f"probe_{uuid.uuid4().hex[:12]}"
        try:
            for message in case.messages:
                if isinstance(message, str):
                    message = message.replace(LAST_RESPONSE, f"{self.last_response}_output")
                self.ws.send(message)
            self.ws.send(json.dumps({"type": "fuzz.probe", "event_id": probe}))
            seen = self._read_until(lambda e: e["type"] == "error"
                                    and e["error"].get("event_id") == probe, self.probe_timeout_s)
        except ConnectionClosed as exc:
            outcome.closed = exc.rcvd.code if exc.rcvd is not None else 1006
            self.close()
            self.open()  # the next case gets a fresh session
            return outcome
        if seen is None:
            outcome.answered = False
            return outcome
        outcome.errors = [e["error"]["code"] for e in seen[:-1] if e["type"] == "error"]
        return outcome

    def normal_turn(self, text: str = "what time is it", timeout_s: float = 20.0) -> dict:
        """A typed turn from a clean start; returns its `response.done` or raises."""
        for event in ({"type": "response.cancel"}, {"type": "input_audio_buffer.clear"},
                      {"type": "session.update", "session": {
                          "input_audio_format": "pcm16", "input_sample_rate": 16_000,
                          "persona": None}},
                      {"type": "conversation.item.create", "item": {
                          "type": "message", "role": "user",
                          "content": [{"type": "input_text", "text": text}]}},
                      {"type": "response.create"}):
            self.ws.send(json.dumps(event))
        created = self._read_until(lambda e: e["type"] == "conversation.item.created", timeout_s)
        assert created is not None, "the typed item was not taken"
        seen = self._read_until(lambda e: e["type"] == "response.done"
                                and e["response"]["status"] == "completed", timeout_s)
        assert seen is not None, "no completed response.done after a typed turn"
        return seen[-1]

    def _read_until(self, done, timeout_s: float) -> list[dict] | None:
        """Events up to and including the first that `done` accepts; None on timeout."""
        seen: list[dict] = []
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                raw = self.ws.recv(timeout=left)
            except TimeoutError:
                return None
            event = json.loads(raw)
            seen.append(event)
            if event["type"] == "response.created":
                self.last_response = event["response"]["id"]
            if done(event):
                return seen
        return None
