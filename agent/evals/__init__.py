"""Scenario evaluations: whole simulated calls to a customer-service agent, scored on the
database it leaves behind, the tools it called and the policy it kept (`stepvox eval
scenarios`). See docs/scenario-evals.md.

May import the rest of agent but the realtime server.
"""

from agent.evals.callers import Caller, LlmCaller, ScriptedCaller
from agent.evals.database import DatabaseAdapter, ScenarioDatabase
from agent.evals.format import Scenario, ScenarioFormatError, load_scenarios
from agent.evals.policy import RULES, PolicyRule, Violation
from agent.evals.runner import AgentBackend, ScenarioRunner, TrialResult
from agent.evals.scoring import FieldDiff, Score, database_diffs, pass_hat_k

__all__ = [
    "AgentBackend", "Caller", "DatabaseAdapter", "FieldDiff", "LlmCaller", "PolicyRule", "RULES",
    "Scenario", "ScenarioDatabase", "ScenarioFormatError", "ScenarioRunner", "ScriptedCaller",
    "Score", "TrialResult", "Violation", "database_diffs", "load_scenarios", "pass_hat_k",
]
