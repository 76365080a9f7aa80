"""A simulated call over the realtime path: the agent under test is served by the real
`/v1/realtime` server (uvicorn on 127.0.0.1, in the runner's event loop), and the caller
talks to it through a websocket like any client: its lines are spoken with the TTS into a
live microphone stream, the server's VAD decides when the caller has finished, its ASR
hears the words, and the agent's reply comes back as audio that a loudspeaker plays in real
time.

Barge-in: a line marked `barge_in` (or every line of a caller with `barge_in: true`) is
said while the agent's previous reply is still playing, once `barge_in_after_ms` of it have
played, whether or not the agent has finished writing it (on a busy CPU the reply is written
slower than it plays). The server stops the reply; the loudspeaker reports how much it
played; the trace marks that reply `interrupted`, keeps the played words as what the caller
heard (`agent_text`) and what the agent had written as `full_reply`. Each turn's events are
read at the end of the call by response id, since a cut reply reports back after the line
that cut it has started.

The protocol has no approval event: an approval question is spoken like any reply. The
runner recognises it as a reply that started a call and did not run it (no
`function_call_output.done`) and asks for a yes or no; the call's name and arguments come
from its `response.function_call_arguments.done`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from agent.evals.callers import Caller, ScriptedCaller
from agent.evals.format import Scenario
from agent.evals.realtime_line import RealtimeLine
from agent.evals.trace import ApprovalAsk, CallTrace, CallTurn, ToolCallRecord
from agent.voice_agent import VoiceAgent

_ASKS_YES_NO = "yes or no"
# A reply must be written within this long (the 1.5B model on a loaded 2-core CPU takes
# tens of seconds a turn, a slow tool more).
TURN_TIMEOUT_S = 600.0
_SETTLE_S = 0.6  # quiet after a played reply before the caller speaks (no second reply came)
_COMMIT_AFTER_S = 8.0  # no end of turn detected this long after the speech: commit by hand
_NO_REPLY_S = 60.0  # a committed line that started no reply this long: the call goes on


@asynccontextmanager
async def realtime_server(agent: VoiceAgent, *, vad: str = "silero"):
    """The realtime app serving `agent` on a free loopback port; yields its websocket URL."""
    import uvicorn

    from agent.realtime.server import RealtimeServerConfig, create_app

    app = create_app(agent, RealtimeServerConfig(vad=vad))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                           ws="websockets-sansio"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
                raise RuntimeError("the realtime server stopped before it started")
            await asyncio.sleep(0.01)
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}/v1/realtime"
    finally:
        server.should_exit = True
        await asyncio.gather(task, return_exceptions=True)
        sock.close()


@dataclass
class _Line:
    """One caller line on the call: where its events start in the log, when its speech ended."""

    index: int
    words: str
    barge_in: bool
    mark: int
    spoken_end: float


class RealtimeCall:
    def __init__(self, agent: VoiceAgent, line: RealtimeLine, approval_tools: set[str], *,
                 barge_in_all: bool = False, barge_in_after_ms: int = 1500) -> None:
        self.agent = agent
        self.line = line
        self.approval_tools = approval_tools
        self.barge_in_all = barge_in_all
        self.barge_in_after_s = barge_in_after_ms / 1000
        self._voices: dict[str, np.ndarray] = {}

    async def run(self, caller: Caller, scenario: Scenario, greeting: str) -> CallTrace:
        trace = CallTrace(greeting=greeting)
        said: list[_Line] = []
        if isinstance(caller, ScriptedCaller):
            # A scripted caller knows its lines: spoken before the call, so a barge-in lands
            # when it is due and not a TTS run later (slower than speech on a busy CPU).
            for text in {*caller.script(), caller.spec.approval_answer}:
                self._voices[text] = await self.agent.say(text)
        agent_said, pending, barge = greeting, False, False
        try:
            for index in range(scenario.max_turns):
                words = await caller.next_utterance(agent_said, pending)
                if words is None:
                    trace.ended_by = caller.end_reason
                    break
                said.append(await self._say(index, words, barge))
                agent_said, pending, barge = await self._listen(said[-1], caller)
            else:
                trace.ended_by = "turn_limit"
        except Exception as exc:  # noqa: BLE001 - a crash is a failed call, reported
            trace.ended_by, trace.error = "error", f"{type(exc).__name__}: {exc}"
        await self._settle()
        marks = [s.mark for s in said[1:]] + [len(self.line.events)]
        trace.turns = [self._collect(s, end) for s, end in zip(said, marks)]
        return trace

    # -- the caller speaks --------------------------------------------------------------

    async def _say(self, index: int, words: str, barge: bool) -> _Line:
        line = self.line
        speech = self._voices.get(words)
        if speech is None:
            speech = await self.agent.say(words)  # the caller's voice: the agent's own TTS
        mark = len(line.events)
        over_reply = barge and not line.speaker.idle(time.perf_counter())
        spoken_end = await line.speak(speech)
        try:
            await line.wait_for(lambda e: e["type"] in ("input_audio_buffer.committed",
                                                        "response.created"),
                                timeout=_COMMIT_AFTER_S, start=mark)
        except TimeoutError:
            retry = len(line.events)
            await line.send("input_audio_buffer.commit")
            answer = await line.wait_for(lambda e: e["type"] in ("response.created", "error"),
                                         timeout=30, start=retry)
            if answer["type"] == "error":
                raise RuntimeError("the server heard no end of the caller's line, and a "
                                   f"commit was refused: {answer['error']['message']}")
        return _Line(index, words, over_reply, mark, spoken_end)

    # -- the agent answers ---------------------------------------------------------------

    async def _listen(self, said: _Line, caller: Caller) -> tuple[str, bool, bool]:
        """Until the caller speaks again: after the reply has played out, or, when its next
        line cuts in, once `barge_in_after_ms` of the reply have played (written or not).
        Returns what the caller heard, whether an approval question is pending, and
        whether the next line cuts in."""
        line, deadline = self.line, time.monotonic() + TURN_TIMEOUT_S
        while time.monotonic() < deadline:
            rids, done = self._created(said.mark), self._done()
            pending = self._approval_pending(rids[-1]) if rids else False
            barge = self.barge_in_all or caller.barges_in(pending)
            finished = bool(rids) and all(r in done for r in rids)
            now = time.perf_counter()
            if barge and rids and line.speaker.played_s(rids[-1], now) >= self.barge_in_after_s:
                return self._heard_so_far(rids[-1]), pending, True
            if finished and line.speaker.idle(now):
                count = len(line.events)
                await asyncio.sleep(_SETTLE_S)
                if not self._created(count):  # no second reply (a line the VAD cut in two)
                    return self._reply_text(rids, done), pending, barge
                continue
            if not rids and now - said.spoken_end > _NO_REPLY_S:
                return "", False, barge  # the server answered nothing to this line
            if line.reader_done():
                raise line.closed_error()
            await asyncio.sleep(0.02)
        raise TimeoutError(f"no complete reply within {TURN_TIMEOUT_S:g} s")

    async def _settle(self) -> None:
        """Let every reply started finish (a cut one reports `response.done` as cancelled)
        and the loudspeaker's last truncate be answered."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.line.reader_done():
            done = self._done()
            if all(r in done for r in self._created(0)):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)

    # -- reading the event log ------------------------------------------------------------

    def _created(self, start: int, end: int | None = None) -> list[str]:
        return [e["response"]["id"] for _, e in self.line.events[start:end]
                if e["type"] == "response.created"]

    def _done(self) -> dict[str, dict]:
        return {e["response"]["id"]: e["response"] for _, e in self.line.events
                if e["type"] == "response.done"}

    def _of(self, rid: str, kind: str) -> list[tuple[float, dict]]:
        return [(t, e) for t, e in self.line.events
                if e["type"] == kind and e.get("response_id") == rid]

    def _approval_pending(self, rid: str) -> bool:
        """A reply that started a call it did not run and asks for a yes or no."""
        ran = {e["call_id"] for _, e in self._of(rid, "response.function_call_output.done")}
        waiting = [e for _, e in self._of(rid, "response.function_call_arguments.done")
                   if e["call_id"] not in ran]
        spoken = " ".join(e["delta"] for _, e in self._of(rid, "response.audio_transcript.delta"))
        return bool(waiting) and _ASKS_YES_NO in spoken

    def _heard_so_far(self, rid: str) -> str:
        """The words of the reply played by now (a caller who talks over a reply answers
        what it heard), in proportion to the audio played."""
        speaker, now = self.line.speaker, time.perf_counter()
        spoken = " ".join(e["delta"].strip() for _, e in self._of(rid, "response.audio_transcript.delta"))
        total = speaker.audio_s(rid)
        if total <= 0:
            return ""
        words = spoken.split()
        return " ".join(words[:round(len(words) * min(1.0, speaker.played_s(rid, now) / total))])

    @staticmethod
    def _reply_text(rids: list[str], done: dict[str, dict]) -> str:
        return " ".join((done[r]["output_text"] if done[r]["status"] == "completed"
                         else done[r]["played_text"]) for r in rids if r in done).strip()

    def _collect(self, said: _Line, end: int) -> CallTurn:
        rids, done = self._created(said.mark, end), self._done()
        heard = " ".join(e["transcript"] for rid in rids for _, e in
                         self._of(rid, "conversation.item.input_audio_transcription.completed"))
        calls, ran, started = [], set(), {}
        for rid in rids:
            for _, e in self._of(rid, "response.function_call_arguments.done"):
                started[e["call_id"]] = e
            for _, e in self._of(rid, "response.function_call_output.done"):
                ran.add(e["call_id"])
                calls.append(ToolCallRecord(
                    turn=said.index, name=e["name"], content=e["output"],
                    arguments=_arguments(started.get(e["call_id"], {}).get("arguments")),
                    requires_approval=e["name"] in self.approval_tools,
                    declined=e["is_error"] and "did not approve running" in e["output"],
                    is_error=e["is_error"]))
        turn = CallTurn(index=said.index, caller_text=said.words, heard=heard.strip(),
                        agent_text=self._reply_text(rids, done), tool_calls=calls,
                        barge_in=said.barge_in, latency_ms=0.0,
                        audio_ms=sum(done.get(r, {}).get("audio_ms") or 0 for r in rids))
        if not rids:
            return turn
        last = rids[-1]
        final = done.get(last, {})
        waiting = [e for cid, e in started.items() if cid not in ran and e["response_id"] == last]
        if waiting and final.get("status") == "completed" and _ASKS_YES_NO in final["output_text"]:
            turn.approval = ApprovalAsk(tool=waiting[0]["name"],
                                        arguments=_arguments(waiting[0]["arguments"]),
                                        question=final["output_text"])
        cut = [e for _, e in self._of(last, "conversation.item.truncated")]
        cut = [e for e in cut if e.get("by_client")] or cut
        if final.get("status") == "cancelled" or cut:
            written = final.get("output_text") or "".join(
                e["delta"] for _, e in self._of(last, "response.text.delta"))
            turn.interrupted, turn.full_reply = True, written.strip()
            turn.played_ms = float(cut[-1]["audio_end_ms"] if cut else final.get("played_ms") or 0)
            if cut:
                turn.agent_text = " ".join([self._reply_text(rids[:-1], done),
                                            cut[-1]["played_text"]]).strip()
        finished = [t for t, e in self.line.events
                    if e["type"] == "response.done" and e["response"]["id"] in rids]
        first_audio = [t for rid in rids for t, _ in self._of(rid, "response.audio.delta")]
        if finished:
            turn.latency_ms = max(0.0, max(finished) - said.spoken_end) * 1000
        if first_audio:
            turn.first_audio_ms = max(0.0, min(first_audio) - said.spoken_end) * 1000
        return turn


def _arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return {"_raw": raw}
        return value if isinstance(value, dict) else {"_raw": raw}
    return {}
