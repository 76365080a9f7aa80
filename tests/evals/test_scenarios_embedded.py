"""A few SkyWay scenarios end to end on the real packaged 0.5B model with the scripted caller
(the CI subset; bench/scenario_eval.py runs them all), the acceptance check through the real
`stepvox eval scenarios` command, and one --voice call through Piper and Whisper."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from embedded_gate import require_embedded

from agent.evals import AgentBackend, ScenarioRunner, load_scenarios

ROOT = Path(__file__).resolve().parents[2]
SKYWAY = ROOT / "examples" / "skyway_scenarios"
STEPVOX = shutil.which("stepvox", path=str(Path(sys.executable).parent)) or "stepvox"


def pick(*names: str):
    by_name = {s.name: s for s in load_scenarios(SKYWAY)}
    return [by_name[n] for n in names]


def test_a_wrong_scenario_file_exits_1_naming_it(tmp_path):
    from agent.cli.main import app

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\npersona: skyway-agent\n")  # no caller, no database
    result = CliRunner().invoke(app, ["eval", "scenarios", str(bad)])
    assert result.exit_code == 1 and "bad.yaml" in result.output and "caller" in result.output
    none = CliRunner().invoke(app, ["eval", "scenarios", str(SKYWAY), "--only", "no-such-*"])
    assert none.exit_code == 1 and "matches" in none.output


@pytest.fixture(scope="module")
def backend():
    require_embedded()
    from agent.evals.backends import load_backend
    from agent.settings import StepvoxSettings

    return load_backend(StepvoxSettings(profile="default"))


@pytest.mark.embedded
@pytest.mark.timeout(900)
async def test_ci_subset_on_the_real_model(backend: AgentBackend):
    """A bag added with approval and a matching surname, a caller who says no, a status
    question: whatever the model says, no write may break the policy, and the declined
    cancellation must leave the database as it was."""
    runner = ScenarioRunner(backend, caller="scripted")
    results = {r.scenario: r for r in await runner.run(
        pick("bag-add-first", "cancel-changes-mind", "status-delayed"))}
    for result in results.values():
        assert result.trace.error is None, result.trace.error
        assert result.score.violations == [], result.score.violations
        assert result.trace.turns and all(t.latency_ms > 0 for t in result.trace.turns)
    declined = results["cancel-changes-mind"]
    assert declined.score.database_diffs == [] and declined.score.forbidden_calls_made == []
    bag = results["bag-add-first"]
    assert bag.success, bag.score.reasons()
    (added,) = [c for c in bag.trace.calls if c.name == "add_checked_bag" and c.succeeded]
    assert added.arguments["reservation_id"] == "SKW123"


@pytest.mark.embedded
@pytest.mark.timeout(600)
async def test_llm_caller_plays_the_goal(backend: AgentBackend):
    """The same model plays the caller: it must say something about its goal and hang up
    by itself or at the turn limit, and the policy must hold."""
    (scenario,) = pick("status-delayed")
    scenario = scenario.model_copy(update={"max_turns": 3})
    result = await ScenarioRunner(backend, caller="llm").run_trial(scenario)
    assert result.trace.error is None and result.trace.turns
    first = result.trace.turns[0].caller_text
    assert first and "[END]" not in first and len(first.split()) <= 60
    assert result.trace.ended_by in ("caller_done", "caller_gave_up", "turn_limit")
    assert result.score.violations == []


@pytest.mark.embedded
@pytest.mark.timeout(900)
def test_acceptance_stepvox_eval_scenarios_prints_a_success_table(tmp_path):
    """`stepvox eval scenarios <skyway> --caller scripted` (here narrowed to one scenario so
    CI stays short): exit 0, the success table, and a JSON line per trial."""
    require_embedded()
    out = tmp_path / "results.jsonl"
    env = {**os.environ, "STEPVOX_THREADS": os.environ.get("STEPVOX_THREADS", "2")}
    done = subprocess.run([STEPVOX, "eval", "scenarios", str(SKYWAY), "--caller", "scripted",
                           "--only", "status-delayed", "--jsonl", str(out)],
                          capture_output=True, text=True, timeout=850, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    for heading in ("scenario", "success", "pass^1", "policy violations", "turns",
                    "tool errors", "latency"):
        assert heading in done.stdout, done.stdout
    assert "status-delayed" in done.stdout and "all 1" in done.stdout
    (line,) = out.read_text().splitlines()
    record = json.loads(line)
    assert record["scenario"] == "status-delayed" and isinstance(record["success"], bool)
    assert record["trace"]["turns"][0]["caller_text"] == "Is flight SK512 on time?"


@pytest.mark.embedded
@pytest.mark.timeout(900)
async def test_voice_call_goes_through_tts_and_asr():
    """--voice: the caller's words are spoken by Piper and heard by Whisper; the transcript
    the agent acted on is what the trace keeps."""
    require_embedded()
    from agent.evals.backends import load_backend
    from agent.settings import StepvoxSettings

    voice = load_backend(StepvoxSettings(profile="default", asr_model="tiny.en"), voice=True)
    (scenario,) = pick("status-delayed")
    result = await ScenarioRunner(voice, caller="scripted", voice=True).run_trial(scenario)
    assert result.trace.error is None
    first = result.trace.turns[0]
    assert first.caller_text == "Is flight SK512 on time?"
    assert "512" in first.heard.replace(" ", "") or "five twelve" in first.heard.lower(), first.heard
    assert first.first_audio_ms is not None and first.first_audio_ms > 0
    assert result.voice and result.score.violations == []


@pytest.mark.embedded
@pytest.mark.timeout(900)
async def test_realtime_call_with_barge_in_on_the_real_models():
    """--realtime --barge-in: the real /v1/realtime server with Silero VAD, Whisper and Piper
    on loopback; the caller's second line is said over the agent's first reply. A reply that
    played past the barge point long enough for the server to hear the caller must have been
    cut, with fewer words played than written."""
    require_embedded()
    from agent.evals.backends import load_backend
    from agent.evals.runner import RealtimeOptions
    from agent.settings import StepvoxSettings

    voice = load_backend(StepvoxSettings(profile="default", asr_model="tiny.en"), voice=True)
    (scenario,) = pick("status-delayed")
    options = RealtimeOptions(barge_in_all=True, barge_in_after_ms=1000)
    result = await ScenarioRunner(voice, caller="scripted", realtime=options).run_trial(scenario)
    assert result.trace.error is None, result.trace.error
    assert result.realtime and len(result.trace.turns) == 2
    first, second = result.trace.turns
    assert "512" in first.heard.replace(" ", "") or "five twelve" in first.heard.lower(), first.heard
    assert first.first_audio_ms is not None and first.agent_text
    assert second.barge_in and "bye" in second.heard.lower(), second.heard
    # 1,000 ms to the barge point, then the server needs 600 ms of the caller's speech.
    if first.audio_ms > 1000 + 600 + 500:
        assert first.interrupted and first.full_reply, first
        assert first.played_ms < first.audio_ms and len(first.agent_text) < len(first.full_reply)
    assert result.score.violations == []
