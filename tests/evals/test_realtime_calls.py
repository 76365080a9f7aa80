"""Scenario calls over the realtime path: the real `/v1/realtime` server on loopback, the real
SkyWay desk and database, a websocket caller streaming audio at real-time pace; the models
are stand-ins (a scripted LLM, a tone TTS, an ASR that hears the script) so the test is
fast and the turn-taking is exact."""

from __future__ import annotations

from fakes import RecordingDecoder, ScriptedChatModel

from agent import ToolCall
from agent.evals import AgentBackend, ScenarioRunner
from agent.evals.format import Scenario
from agent.evals.realtime_line import Loudspeaker
from agent.evals.runner import RealtimeOptions
from speech.protocols import Transcription

ASKED = "Please cancel booking SKW123, my surname is de Vries."
YES = "Yes, please go ahead."
BYE = "Thanks, that is all, goodbye."
LONG = ("Your booking SKW123 is now cancelled. Because you booked it less than a day ago, "
        "the full fare of 129 euros goes back to your card within seven working days.")
CANCEL = {"reservation_id": "SKW123", "last_name": "de Vries", "reason": "change_of_plan"}
# Energy VAD on tone audio; no speculation, so the scripted model's replies go in order.
OPTIONS = RealtimeOptions(vad="energy", barge_in_after_ms=600, turn_detection={
    "type": "server_vad", "speculative": False, "silence_duration_ms": 300,
    "barge_in_min_ms": 250})


class ScriptHearer:
    """An ASR that hears the caller's lines in order, lower-cased (so the trace shows the
    words came through the server's ASR, not from the script)."""

    sample_rate = 16_000

    def __init__(self, lines: list[str]) -> None:
        self.lines = list(lines)
        self.clips = 0

    async def transcribe(self, clip) -> Transcription:
        if not clip.samples.any():  # the server's warm-up hears silence
            return Transcription(text="", language="en")
        self.clips += 1
        return Transcription(text=self.lines.pop(0).lower() if self.lines else "", language="en")


def scenario(**caller) -> Scenario:
    return Scenario.model_validate({
        "name": "realtime-cancel", "persona": "skyway-agent",
        "tools": ["get_reservation_details", "cancel_reservation"],
        "database": {"adapter": "skyway_desk.desk:scenario_desk",
                     "ignore": ["flights/*/seats_left/*"]},
        "policy": [{"rule": "identity_before_write", "options": {
            "argument": "last_name", "key_argument": "reservation_id", "table": "reservations",
            "field": "passengers"}}],
        "caller": {"goal": "Cancel SKW123.", **caller}, "max_turns": 4,
        "expect": {"changes": {"reservations/SKW123/status": "cancelled",
                               "reservations/SKW123/cancel_reason": {"any": True}},
                   "required_calls": [{"tool": "cancel_reservation",
                                       "arguments": {"reservation_id": "SKW123"}}]}})


def backend(replies, heard) -> tuple[AgentBackend, ScriptedChatModel]:
    model = ScriptedChatModel(replies, repeat_last=False)
    return AgentBackend(model, label="scripted", decoder=RecordingDecoder(16_000, seconds_per_char=0.02),
                        tokenizer=ScriptHearer(heard)), model


async def test_approval_then_a_barge_in_over_the_answer():
    agent_backend, model = backend(
        [ToolCall(name="cancel_reservation", arguments=CANCEL), LONG, "Goodbye."],
        [ASKED, YES, BYE])
    runner = ScenarioRunner(agent_backend, caller="scripted", realtime=OPTIONS)
    result = await runner.run_trial(scenario(
        turns=[ASKED, {"say": BYE, "barge_in": True}], approval_answer=YES))
    trace = result.trace
    assert trace.error is None, trace.error
    assert result.realtime and result.voice
    asked, answered, bye = trace.turns
    # The approval question came back as an ordinary spoken reply; the runner read it from
    # the call the reply started and did not run.
    assert asked.heard == ASKED.lower() and asked.approval is not None
    assert asked.approval.tool == "cancel_reservation"
    assert asked.approval.arguments["reservation_id"] == "SKW123" and asked.tool_calls == []
    (cancel,) = answered.tool_calls
    assert cancel.name == "cancel_reservation" and cancel.succeeded and cancel.requires_approval
    # The caller talked over the long answer: it was cut, and only its played words count.
    assert answered.interrupted and answered.full_reply == LONG
    assert answered.agent_text and LONG.startswith(answered.agent_text.rstrip(". "))
    assert len(answered.agent_text) < len(LONG)
    assert 600 <= answered.played_ms < answered.audio_ms
    assert bye.barge_in and not bye.interrupted and bye.agent_text == "Goodbye."
    # The server kept the played words in the conversation the model read next.
    last_prompt = [m.content for m in model.calls[-1][0] if m.role == "assistant"]
    assert answered.agent_text in last_prompt and LONG not in last_prompt
    assert result.score.violations == [] and result.success, result.score.reasons()
    assert all(t.latency_ms > 0 and t.first_audio_ms is not None for t in trace.turns)


async def test_a_no_said_over_the_approval_question_changes_nothing():
    agent_backend, _ = backend(
        [ToolCall(name="cancel_reservation", arguments=CANCEL), "All right, I left it as it is."],
        [ASKED, "No, stop, don't cancel it."])
    runner = ScenarioRunner(agent_backend, caller="scripted", realtime=OPTIONS)
    result = await runner.run_trial(scenario(
        turns=[ASKED], approval_answer="No, stop, don't cancel it.", barge_in=True))
    trace = result.trace
    assert trace.error is None, trace.error
    asked, refused = trace.turns
    assert asked.approval is not None and asked.interrupted  # cut while asking
    assert refused.barge_in and refused.heard == "no, stop, don't cancel it."
    (declined,) = refused.tool_calls
    assert declined.declined and not declined.succeeded
    assert result.score.database_diffs and not result.success  # the expected cancel did not happen
    assert result.score.violations == []


def test_loudspeaker_queues_audio_and_stops_on_a_clear():
    speaker = Loudspeaker()
    speaker.add("r1", 1.0, now=10.0)
    speaker.add("r1", 1.0, now=10.2)  # queued behind the first second
    assert speaker.played_s("r1", 10.5) == 0.5 and speaker.played_s("r1", 11.5) == 1.5
    assert not speaker.idle(11.9) and speaker.idle(12.0)
    assert speaker.stop("r1", 11.25) == 1.25
    assert speaker.played_s("r1", 20.0) == 1.25 and speaker.idle(11.3)
    speaker.add("r1", 1.0, now=11.4)  # in flight when cleared: never played
    assert speaker.audio_s("r1") == 2.0
    speaker.add("r2", 0.5, now=13.0)  # a late chunk leaves a gap before it plays
    assert abs(speaker.played_s("r2", 13.2) - 0.2) < 1e-9
