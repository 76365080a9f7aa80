"""The LangGraph graph of one spoken turn.

    perceive -> think -> act -> think ... (bounded by max_tool_rounds) -> speak -> remember
                     \\-> speak -> act (a filler sentence came before a tool call)

Routing reads `state["route"]`, which think and speak set; act always returns to think, and
think stops offering tools once the bound is reached, so the loop always ends. The think
node is `agent.honesty.replies.think`: it says "I can't check that" instead of an answer no
tool backs (live data, private records, future events, failed tools).
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agent.honesty import replies as honest_replies

from agent.turn import nodes
from agent.turn.state import TurnState
from agent.turn.context import TurnContext


def _route(state: TurnState) -> str:
    return state["route"]


def build_turn_graph(checkpointer=None):
    """Compile the turn graph. The `remember` node persists each finished turn; a
    checkpointer (in memory) is given only when a tool needs the user's approval, so a paused
    turn can wait for the next one. Agents without such tools pay nothing for it."""
    graph = StateGraph(TurnState, context_schema=TurnContext)
    graph.add_node("perceive", nodes.perceive)
    # think, then an honest sentence instead of an answer that could only be invented
    graph.add_node("think", honest_replies.think)
    graph.add_node("act", nodes.act)
    graph.add_node("speak", nodes.speak)
    graph.add_node("remember", nodes.remember)
    graph.add_edge(START, "perceive")
    graph.add_edge("perceive", "think")
    graph.add_conditional_edges("think", _route, {"act": "act", "speak": "speak"})
    graph.add_edge("act", "think")
    graph.add_conditional_edges("speak", _route, {"act": "act", "remember": "remember"})
    graph.add_edge("remember", END)
    return graph.compile(name="stepvox-turn", checkpointer=checkpointer)
