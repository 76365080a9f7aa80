"""Scenario evaluations: whole simulated calls to a customer-service agent, scored on the
database it leaves behind, the tools it called and the policy it kept (`stepvox eval
scenarios`). See docs/scenario-evals.md.

May import the rest of agent. The realtime path (`realtime_call`) imports the realtime
server only to serve the agent under test on loopback; it talks to it over the websocket
protocol like any client.
"""

from agent.evals.callers import Caller, LlmCaller, ScriptedCaller
from agent.evals.database import DatabaseAdapter, ScenarioDatabase
from agent.evals.format import Scenario, ScenarioFormatError, load_scenarios
from agent.evals.judge import JudgeVerdict, ReplyJudge
from agent.evals.policy import RULES, PolicyRule, Violation
from agent.evals.runner import AgentBackend, RealtimeOptions, ScenarioRunner, TrialResult
from agent.evals.scoring import FieldDiff, Score, database_diffs, pass_hat_k

__all__ = [
    "AgentBackend", "Caller", "DatabaseAdapter", "FieldDiff", "JudgeVerdict", "LlmCaller",
    "PolicyRule", "RULES", "RealtimeOptions", "ReplyJudge", "Scenario", "ScenarioDatabase",
    "ScenarioFormatError", "ScenarioRunner", "ScriptedCaller", "Score", "TrialResult",
    "Violation", "database_diffs", "load_scenarios", "pass_hat_k",
]
