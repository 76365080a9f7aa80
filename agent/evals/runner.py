"""Running scenarios: a simulated caller phones a `VoiceAgent` over a fresh copy of the
scenario's database; the trace, the end state and the policy rules decide the outcome.

The Python API is what the CLI uses:

    runner = ScenarioRunner(AgentBackend(chat_model), caller="scripted")
    results = await runner.run(load_scenarios("examples/skyway_scenarios"), trials=4)
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from agent.chat_model import ChatModel
from agent.events import (
    ApprovalRequestEvent, AudioChunkEvent, ToolResultEvent, TranscriptEvent, TurnDoneEvent,
)
from agent.evals.callers import Caller, make_caller
from agent.evals.database import ScenarioDatabase, open_database
from agent.evals.format import Scenario, ScenarioFormatError
from agent.evals.judge import JudgeVerdict, ReplyJudge
from agent.evals.policy import check_policy
from agent.evals.scoring import Score, score_call
from agent.evals.trace import ApprovalAsk, CallTrace, CallTurn, ToolCallRecord
from agent.voice_agent import VoiceAgent
from personas import PersonaLibrary
from speech.protocols import SpeechDecoder, SpeechTokenizer
from tools import ToolRegistry, builtin_tools


@dataclass
class AgentBackend:
    """The models the agent under test runs on. `decoder` and `tokenizer` are needed only
    for voice runs: the caller's words go through the TTS and the agent hears them through
    its ASR. `caller_model` plays an LLM caller (default: the agent's own model)."""

    chat_model: ChatModel
    label: str = "agent"
    decoder: SpeechDecoder | None = None
    tokenizer: SpeechTokenizer | None = None
    caller_model: ChatModel | None = None


class TrialResult(BaseModel):
    scenario: str
    trial: int
    tags: list[str]
    backend: str
    caller: str
    voice: bool
    realtime: bool = False  # through the /v1/realtime server (voice in and out)
    score: Score
    trace: CallTrace
    wall_s: float
    # The optional LLM judge's view of the replies: reported beside success, never part of it.
    judge: JudgeVerdict | None = None

    @property
    def success(self) -> bool:
        return self.score.success

    @property
    def tool_errors(self) -> int:
        """Calls the tools answered with an error (refusals included; declines are not)."""
        return sum(1 for c in self.trace.calls if c.is_error and not c.declined)


@dataclass
class RealtimeOptions:
    """How realtime calls are held. `vad`: the server's ("silero" as `stepvox serve`;
    "energy" for synthetic test audio). `turn_detection`: sent in `session.update` (None:
    the server's default, semantic VAD with speculation). `barge_in_all`: every caller line
    after the first talks over the reply; `barge_in_after_ms`: how much of the reply plays
    before a barge-in."""

    vad: str = "silero"
    turn_detection: dict | None = None
    barge_in_all: bool = False
    barge_in_after_ms: int = 1500


def _warm_instruction_detector() -> None:
    """Load the tool-output instruction detector's model (MiniLM) now. It loads on the first
    tool result, on the event loop: in a realtime call that stalled the server's loop for
    11-15 s on a loaded 2-core CPU, long enough to lose the session's conversation lease."""
    from tools.injection.instruction_detector import default_instruction_detector

    detector = default_instruction_detector()
    if detector is not None:
        detector.scores(["Your booking is confirmed."])


def scenario_persona(scenario: Scenario, personas: PersonaLibrary):
    """A library persona by name, or a persona file next to the scenario (a team's own
    bot need not be installed in the user's persona library to be tested)."""
    if scenario.persona.endswith((".yaml", ".yml", ".json")):
        from personas.persona_files import load_persona

        base = scenario.source.parent if scenario.source is not None else Path.cwd()
        return load_persona(base / scenario.persona)
    return personas.get(scenario.persona)


class ScenarioRunner:
    def __init__(self, backend: AgentBackend, *, caller: str = "scripted", voice: bool = False,
                 realtime: RealtimeOptions | None = None, judge: ReplyJudge | None = None,
                 personas: PersonaLibrary | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        """`voice`: the caller's lines go through the TTS and the agent's ASR. `realtime`:
        calls go through the /v1/realtime server, voice in and out (implies `voice`).
        `judge`: an LLM scores the replies of each call (reported, never deciding success)."""
        voice = voice or realtime is not None
        if voice and (backend.decoder is None or backend.tokenizer is None):
            raise ValueError("voice and realtime runs need the backend's decoder (TTS) and "
                             "tokenizer (ASR)")
        self.backend = backend
        self.caller_kind = caller
        self.voice = voice
        self.realtime = realtime
        self.judge = judge
        self._warmed = False
        self.personas = personas or PersonaLibrary.for_user()
        self.clock = clock

    async def run(self, scenarios: Sequence[Scenario], trials: int = 1,
                  on_result: Callable[[TrialResult], None] | None = None) -> list[TrialResult]:
        """Every scenario `trials` times (trial-major, so an interrupted run has whole
        passes); `on_result` sees each result as it comes (progress, JSON lines)."""
        if trials < 1:
            raise ValueError(f"trials must be at least 1, got {trials}")
        results = []
        for trial in range(trials):
            for scenario in scenarios:
                result = await self.run_trial(scenario, trial)
                results.append(result)
                if on_result is not None:
                    on_result(result)
        return results

    async def run_trial(self, scenario: Scenario, trial: int = 0) -> TrialResult:
        started = time.perf_counter()
        database = open_database(scenario.database, self.clock())
        start = database.snapshot()
        caller = make_caller(self.caller_kind, scenario.caller,
                             self.backend.caller_model or self.backend.chat_model)
        agent = self._agent(scenario, database)
        try:
            if self.realtime is not None:
                trace = await self._realtime_call(agent, caller, scenario, database)
            else:
                trace = await self._call(agent, caller, scenario, database)
        finally:
            await agent.aclose()
        end = database.snapshot()
        violations = check_policy(trace, scenario, start)
        verdict = None
        if self.judge is not None and trace.turns:
            verdict = await self.judge.judge_call(trace, agent.persona)
        return TrialResult(
            scenario=scenario.name, trial=trial, tags=scenario.tags, backend=self.backend.label,
            caller=self.caller_kind, voice=self.voice, realtime=self.realtime is not None,
            score=score_call(scenario, trace, start, end, violations), trace=trace,
            wall_s=time.perf_counter() - started, judge=verdict)

    def _agent(self, scenario: Scenario, database: ScenarioDatabase) -> VoiceAgent:
        persona = self._persona(scenario)
        offered = ToolRegistry([*builtin_tools(), *database.tools])
        if scenario.tools is not None:
            missing = sorted(set(scenario.tools) - set(offered.names))
            if missing:
                raise ScenarioFormatError(f"scenario {scenario.name!r} names tools its database "
                                          f"adapter does not give: {', '.join(missing)}")
            persona = persona.model_copy(update={"allowed_tools": list(scenario.tools)})
        return VoiceAgent(
            self.backend.chat_model, tools=offered, persona=persona, learn_facts=False,
            decoder=self.backend.decoder if self.voice else None,
            tokenizer=self.backend.tokenizer if self.voice else None)

    def _persona(self, scenario: Scenario):
        return scenario_persona(scenario, self.personas)

    async def _realtime_call(self, agent: VoiceAgent, caller: Caller, scenario: Scenario,
                             database: ScenarioDatabase) -> CallTrace:
        from agent.evals.realtime_call import RealtimeCall, realtime_server
        from agent.evals.realtime_line import RealtimeLine

        options = self.realtime
        approval_tools = {t.name for t in database.tools if t.requires_approval}
        greeting = await agent.greeting()
        if not self._warmed:
            # As `stepvox serve` does before its first caller: lazily built state (the
            # prompt prefix, the honesty detector, TTS and ASR) is built now, not in the
            # first call's turn, where it would stall the server's event loop.
            await agent.warm_up()
            await asyncio.to_thread(_warm_instruction_detector)
            self._warmed = True
        try:
            async with realtime_server(agent, vad=options.vad) as url:
                line = await RealtimeLine.open(url, agent.sample_rate, options.turn_detection)
                try:
                    call = RealtimeCall(agent, line, approval_tools,
                                        barge_in_all=options.barge_in_all,
                                        barge_in_after_ms=options.barge_in_after_ms)
                    return await call.run(caller, scenario, greeting)
                finally:
                    await line.close()
        except Exception as exc:  # noqa: BLE001 - the server or the line failed: a failed call
            return CallTrace(greeting=greeting, ended_by="error",
                             error=f"{type(exc).__name__}: {exc}")

    async def _call(self, agent: VoiceAgent, caller: Caller, scenario: Scenario,
                    database: ScenarioDatabase) -> CallTrace:
        approval_tools = {t.name for t in database.tools if t.requires_approval}
        trace = CallTrace(greeting=await agent.greeting())
        conversation = uuid.uuid4().hex
        agent_said, pending = trace.greeting, False
        for index in range(scenario.max_turns):
            try:
                words = await caller.next_utterance(agent_said, pending)
                if words is None:
                    trace.ended_by = caller.end_reason
                    return trace
                turn = await self._turn(agent, conversation, index, words, approval_tools)
            except Exception as exc:  # noqa: BLE001 - a crash is a failed call, reported
                trace.ended_by, trace.error = "error", f"{type(exc).__name__}: {exc}"
                return trace
            trace.turns.append(turn)
            agent_said, pending = turn.agent_text, turn.approval is not None
        trace.ended_by = "turn_limit"
        return trace

    async def _turn(self, agent: VoiceAgent, conversation: str, index: int, words: str,
                    approval_tools: set[str]) -> CallTurn:
        kwargs: dict = {"conversation_id": conversation, "synthesize": self.voice}
        if self.voice:
            speech = await agent.say(words)  # the caller's voice: the same TTS
            kwargs.update(audio=speech.astype(np.float32), sample_rate=agent.sample_rate)
        started = time.perf_counter()
        heard, text, first_audio = words, "", None
        calls: list[ToolCallRecord] = []
        approval = None
        async for event in agent.stream(None if self.voice else words, **kwargs):
            if isinstance(event, TranscriptEvent):
                heard = event.text
            elif isinstance(event, ToolResultEvent):
                r = event.result
                declined = r.is_error and "did not approve running" in r.content
                calls.append(ToolCallRecord(
                    turn=index, name=r.name, arguments=dict(r.arguments), content=r.content,
                    requires_approval=r.name in approval_tools, declined=declined,
                    is_error=r.is_error))
            elif isinstance(event, ApprovalRequestEvent):
                approval = ApprovalAsk(tool=event.tool, arguments=dict(event.arguments),
                                       question=event.question)
            elif isinstance(event, AudioChunkEvent) and first_audio is None:
                first_audio = (time.perf_counter() - started) * 1000
            elif isinstance(event, TurnDoneEvent):
                text = event.reply.text
        return CallTurn(index=index, caller_text=words, heard=heard, agent_text=text,
                        tool_calls=calls, approval=approval,
                        latency_ms=(time.perf_counter() - started) * 1000,
                        first_audio_ms=first_audio)
