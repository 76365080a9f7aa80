"""Asking the user before a tool with side effects runs.

The `act` node puts each call of a `requires_approval` tool to the user through LangGraph's
`interrupt`; the graph's state waits in the agent's checkpointer. The question is spoken as
the turn's reply; the user's next turn is read as a yes or a no and resumes the graph, which
runs (or declines) the call and answers. Anything that is not clearly a yes counts as a no:
a side effect never happens on a misheard word.
"""

from __future__ import annotations

import re
from typing import Any

from langgraph.types import interrupt

_YES = re.compile(r"\b(yes|yeah|yep|yup|sure|ok|okay|please do|go ahead|do it|confirm(ed)?|"
                  r"correct|that's right|absolutely|of course|好|是的?|可以|对)\b", re.I)
_NO = re.compile(r"\b(no|nope|don't|do not|stop|wait|never ?mind|not now|cancel that|"
                 r"不|不要|别)\b", re.I)


def interpret_consent(text: str) -> bool:
    """True only for a clear yes (a yes word and no no word)."""
    return bool(_YES.search(text)) and not _NO.search(text)


def ask_approval(call: Any, tool: Any, *, led_by: list[str] | None = None) -> bool:
    """`dispatch_calls`' approver: pauses the graph until the user answers (the node re-runs
    on resume and `interrupt` then returns the answer). `led_by`: the tools whose output
    asked for this call rather than the user (`agent.turn.provenance`); the question says so,
    because a user who did not ask for it must know where it came from to refuse it."""
    request = {"call_id": call.id, "tool": call.name, "arguments": dict(call.arguments)}
    if led_by is not None:
        request["led_by"] = list(led_by)
    return bool(interrupt(request))


def approval_question(request: dict[str, Any]) -> str:
    """A spoken question for one pending call: what will happen, then yes or no."""
    action = request["tool"].replace("_", " ")
    details = ", ".join(f"{k.replace('_', ' ')} {str(v).replace('_', ' ')}"
                        for k, v in request.get("arguments", {}).items())
    what = f"{action}, {details}" if details else action
    if "led_by" in request:
        where = " and ".join(n.replace("_", " ") for n in request["led_by"]) or "a tool"
        return (f"The result of {where} asks me to {what}. You did not ask for that, so I "
                "have not done it. Shall I do it anyway? Please say yes or no.")
    return f"Before I go ahead: {what}. Shall I do that? Please say yes or no."
