"""A simulated call over the realtime path: the agent under test is served by the real
`/v1/realtime` server (uvicorn on 127.0.0.1, in the runner's event loop), and the caller
talks to it through a websocket like any client: its lines are spoken with the TTS into a
live microphone stream, the server's VAD decides when the caller has finished, its ASR
hears the words, and the agent's reply comes back as audio that a loudspeaker plays in real
time.

Barge-in: a line marked `barge_in` (or every line of a caller with `barge_in: true`) is
said while the agent's previous reply is still playing, once the reply is written and
`barge_in_after_ms` of it have played. The server stops the reply; the loudspeaker reports
how much it played; the trace marks that reply `interrupted`, keeps the played words as what
the caller heard (`agent_text`) and the whole reply as `full_reply`.

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
from typing import Any

from agent.evals.callers import Caller
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


class RealtimeCall:
    def __init__(self, agent: VoiceAgent, line: RealtimeLine, approval_tools: set[str], *,
                 barge_in_all: bool = False, barge_in_after_ms: int = 1500) -> None:
        self.agent = agent
        self.line = line
        self.approval_tools = approval_tools
        self.barge_in_all = barge_in_all
        self.barge_in_after_s = barge_in_after_ms / 1000
        self._turn_rids: list[list[str]] = []  # the replies of each turn, in order

    async def run(self, caller: Caller, scenario: Scenario, greeting: str) -> CallTrace:
        trace = CallTrace(greeting=greeting)
        agent_said, pending, barge = greeting, False, False
        for index in range(scenario.max_turns):
            try:
                words = await caller.next_utterance(agent_said, pending)
                if words is None:
                    trace.ended_by = caller.end_reason
                    break
                turn = await self._turn(index, words, barge)
                trace.turns.append(turn)
                pending = turn.approval is not None
                barge = self.barge_in_all or caller.barges_in(pending)
                if barge:
                    await self._until_barge_point()
                    agent_said = self._heard_so_far(turn)
                else:
                    await self._until_played_out()
                    agent_said = turn.agent_text
            except Exception as exc:  # noqa: BLE001 - a crash is a failed call, reported
                trace.ended_by, trace.error = "error", f"{type(exc).__name__}: {exc}"
                break
        else:
            trace.ended_by = "turn_limit"
        await self._settle_interruptions(trace)
        return trace

    # -- one caller line and the agent's answer to it ----------------------------------

    async def _turn(self, index: int, words: str, barge_in: bool) -> CallTurn:
        line = self.line
        speech = await self.agent.say(words)  # the caller's voice: the agent's own TTS
        mark = len(line.events)
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
        await self._until_replied(mark)
        return self._collect(index, words, barge_in, mark, spoken_end)

    def _responses(self, mark: int) -> list[str]:
        return [e["response"]["id"] for _, e in self.line.events[mark:]
                if e["type"] == "response.created"]

    def _done(self, mark: int) -> dict[str, dict]:
        return {e["response"]["id"]: e["response"] for _, e in self.line.events[mark:]
                if e["type"] == "response.done"}

    async def _until_replied(self, mark: int) -> None:
        """Until every reply started since `mark` is done (a caller's line that the VAD
        cut in two gets two replies, the first usually stopped by the second half)."""
        deadline = time.monotonic() + TURN_TIMEOUT_S
        while time.monotonic() < deadline:
            started, done = self._responses(mark), self._done(mark)
            if started and all(r in done for r in started):
                return
            if self.line.reader_done():
                raise self.line.closed_error()
            await asyncio.sleep(0.02)
        raise TimeoutError(f"no complete reply within {TURN_TIMEOUT_S:g} s")

    async def _until_played_out(self) -> None:
        """The caller waits for the agent to finish talking, as people do."""
        while True:
            count = len(self.line.events)
            while not self.line.speaker.idle(time.perf_counter()):
                await asyncio.sleep(0.02)
            await asyncio.sleep(_SETTLE_S)
            if len(self._responses(count)) == 0:
                return
            await self._until_replied(count)

    async def _until_barge_point(self) -> None:
        """Until `barge_in_after_ms` of the latest reply have played, or it has ended."""
        rid = self._latest_response()
        while rid is not None:
            now = time.perf_counter()
            if (self.line.speaker.played_s(rid, now) >= self.barge_in_after_s
                    or self.line.speaker.idle(now)):
                return
            await asyncio.sleep(0.02)

    def _latest_response(self) -> str | None:
        return next((e["response"]["id"] for _, e in reversed(self.line.events)
                     if e["type"] == "response.created"), None)

    def _heard_so_far(self, turn: CallTurn) -> str:
        """The words of the reply that have played by now (a caller who talks over a reply
        answers what it heard). Sentence by sentence, in proportion to the audio played."""
        rid = self._latest_response()
        if rid is None:
            return turn.agent_text
        speaker, now = self.line.speaker, time.perf_counter()
        total = speaker.audio_s(rid)
        if total <= 0:
            return ""
        words = turn.agent_text.split()
        return " ".join(words[:round(len(words) * min(1.0, speaker.played_s(rid, now) / total))])

    def _collect(self, index: int, words: str, barge_in: bool, mark: int,
                 spoken_end: float) -> CallTurn:
        events = self.line.events[mark:]
        responses, done = self._responses(mark), self._done(mark)
        self._turn_rids.append(responses)
        heard = " ".join(e["transcript"] for _, e in events if e["type"] ==
                         "conversation.item.input_audio_transcription.completed").strip()
        texts = []
        for rid in responses:
            r = done[rid]
            texts.append(r["output_text"] if r["status"] == "completed" else r["played_text"])
        started: dict[str, dict] = {}
        calls, ran = [], set()
        for _, e in events:
            if e["type"] == "response.function_call_arguments.done":
                started[e["call_id"]] = e
            elif e["type"] == "response.function_call_output.done":
                ran.add(e["call_id"])
                arguments = _arguments(started.get(e["call_id"], {}).get("arguments"))
                calls.append(ToolCallRecord(
                    turn=index, name=e["name"], arguments=arguments, content=e["output"],
                    requires_approval=e["name"] in self.approval_tools,
                    declined=e["is_error"] and "did not approve running" in e["output"],
                    is_error=e["is_error"]))
        last = done[responses[-1]]
        approval = None
        waiting = [e for cid, e in started.items() if cid not in ran
                   and e["response_id"] == responses[-1]]
        if waiting and last["status"] == "completed" and _ASKS_YES_NO in last["output_text"]:
            approval = ApprovalAsk(tool=waiting[0]["name"],
                                   arguments=_arguments(waiting[0]["arguments"]),
                                   question=last["output_text"])
        first_audio = next((t for t, e in events if e["type"] == "response.audio.delta"), None)
        finished = max(t for t, e in events if e["type"] == "response.done")
        return CallTurn(
            index=index, caller_text=words, heard=heard, agent_text=" ".join(texts).strip(),
            tool_calls=calls, approval=approval, barge_in=barge_in,
            latency_ms=max(0.0, finished - spoken_end) * 1000,
            first_audio_ms=None if first_audio is None else max(0.0, first_audio - spoken_end) * 1000,
            audio_ms=sum(r.get("audio_ms") or 0 for r in done.values()))

    async def _settle_interruptions(self, trace: CallTrace) -> None:
        """Mark the replies the caller talked over. The server's `conversation.item.truncated`
        says what was played; the loudspeaker's own position (`by_client`) wins when its
        truncate was answered."""
        await asyncio.sleep(0.2)  # the answer to the last barge-in's truncate is in flight
        truncated: dict[str, dict] = {}
        for _, e in self.line.events:
            if e["type"] == "conversation.item.truncated":
                if e["response_id"] not in truncated or e.get("by_client"):
                    truncated[e["response_id"]] = e
        for turn, rids in zip(trace.turns, self._turn_rids):
            if not rids or rids[-1] not in truncated:
                continue
            cut = truncated[rids[-1]]
            turn.interrupted = True
            turn.full_reply = turn.agent_text
            turn.played_ms = float(cut["audio_end_ms"])
            turn.agent_text = cut["played_text"]


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
