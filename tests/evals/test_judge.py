"""The LLM judge of the replies: what it is shown, how its answer is read, and that its
verdict sits beside success without changing it. A scripted model stands in for the judge;
`test_judge_embedded.py` checks the real one against hand labels."""

from __future__ import annotations

from fakes import ScriptedChatModel

from agent.evals import AgentBackend, ScenarioRunner
from agent.evals.format import Scenario
from agent.evals.judge import ReplyJudge, call_exchanges, parse_verdict, persona_facts
from agent.evals.report import results_table, summarise
from agent.evals.trace import CallTrace, CallTurn, ToolCallRecord
from personas import PersonaLibrary


def test_a_quote_is_a_finding_and_none_clears_the_line():
    verdict = parse_verdict('RUDE: none\nINVENTED: "boards at gate B12"\nANSWERED: no', "m")
    assert (verdict.polite, verdict.no_invented_facts, verdict.answered) == (True, False, False)
    assert "gate B12" in verdict.reason and verdict.model == "m"
    assert verdict.all_good is False


def test_markdown_and_case_are_tolerated_and_a_missing_line_stays_unknown():
    verdict = parse_verdict("**Rude:** None.\ninvented - nothing\nThe reply was fine.")
    assert verdict.polite is True and verdict.no_invented_facts is True
    assert verdict.answered is None and verdict.all_good is None
    assert "The reply was fine." in verdict.raw
    rude = parse_verdict("RUDE: 'That's not my problem.'\nINVENTED: none\nANSWERED: No, it refused.")
    assert rude.polite is False and rude.no_invented_facts is True and rude.answered is False


def test_the_judge_sees_the_policy_the_tool_results_and_only_the_words_played():
    trace = CallTrace(greeting="Hello, Mia here.", turns=[
        CallTurn(index=0, caller_text="Status of SK101?", heard="status of sk101",
                 agent_text="SK101 is delayed by", interrupted=True,
                 full_reply="SK101 is delayed by 95 minutes, and the gate is B12.",
                 tool_calls=[ToolCallRecord(turn=0, name="get_flight_status",
                                            arguments={"flight_number": "SK101"},
                                            requires_approval=False, declined=False,
                                            is_error=False, content='{"delay_minutes": 95}')],
                 latency_ms=1.0)])
    lines = call_exchanges(trace)
    assert [(e.speaker, e.text) for e in lines] == [
        ("Agent", "Hello, Mia here."), ("Caller", "status of sk101"),
        ("Agent", "SK101 is delayed by [the caller cut in here]")]
    persona = PersonaLibrary.for_user().get("skyway-agent")
    assert "35 euros" in persona_facts(persona)  # the policy lore


async def test_the_verdict_is_reported_beside_success_and_never_decides_it():
    # The agent's model answers the status question; the judge (another scripted model)
    # calls the reply impolite and invented. The call still succeeds on its records.
    agent = ScriptedChatModel(["SkyWay flight SK101 is delayed by 95 minutes."])
    judge_model = ScriptedChatModel(['RUDE: "delayed"\nINVENTED: "95 minutes"\nANSWERED: yes'])
    scenario = Scenario.model_validate({
        "name": "judged", "persona": "skyway-agent", "tools": ["get_flight_status"],
        "database": {"adapter": "skyway_desk.desk:scenario_desk"},
        "caller": {"goal": "Ask about SK101.", "turns": ["Is SK101 on time?"]},
        "expect": {"said": ["95"]}})
    runner = ScenarioRunner(AgentBackend(agent), judge=ReplyJudge(judge_model, label="stub"))
    result = await runner.run_trial(scenario)
    assert result.success and result.judge is not None
    assert result.judge.polite is False and result.judge.no_invented_facts is False
    assert result.judge.model == "stub"
    (prompt,) = judge_model.calls
    shown = prompt[0][-1].content
    assert "Caller: Is SK101 on time?" in shown and "delayed by 95 minutes" in shown
    assert "Checked bags: first bag 35 euros" in shown  # the persona's policy
    rows, run = summarise([result])
    assert run.pass_1 == 1.0 and run.judge.judged == 1 and run.judge.polite == 0
    assert rows[0].judge.answered == 1
    columns = [c.header for c in results_table([result]).columns]
    assert "LLM judge (not part of success)" in columns
