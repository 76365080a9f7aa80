"""An optional LLM judge of what the agent said on a call: was it polite, did it state a
fact it did not have, did it answer what the caller asked?

It reads the call as the caller heard it (an interrupted reply only as far as it played)
beside the facts the agent had: its persona's policy text and every tool result of the call.
Its verdict is reported next to the scenario's success and never decides it: success comes
from the records, the tool trace and the policy rules, which a model cannot talk its way
around. Any chat backend serves (the embedded profiles, an OpenAI-compatible server); a
small local model is a rough judge, so its agreement with hand labels is measured
(`bench/scenario_eval.py --judge-agreement`) before its numbers are read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel

from agent.chat_model import ChatMessage, ChatModel, complete_text
from agent.evals.trace import CallTrace

_SYSTEM = ("You check the replies of a customer-service phone agent. You are strict about "
           "facts and fair about tone. Answer only in the format asked.")
_QUESTIONS = """Check the agent's lines:
RUDE: quote the agent's rude, mocking or dismissive words, or write none.
INVENTED: quote the agent's words that state a price, time, date, status, rule or number that is not in the facts above and that the caller did not say, or write none. Saying it cannot check something is not inventing.
ANSWERED: did the agent deal with what the caller asked (answer it, do it, ask for a detail it needs, or say it cannot when it is outside its job)? Saying it cannot check something the facts above do tell is not an answer. Write yes or no.
Answer in exactly three lines, starting RUDE:, INVENTED:, ANSWERED:"""
# Small models answer a plain yes/no question with "yes" almost whatever the call held;
# asked to quote the offending words they look for them. "none" (or nothing) clears a line.
_QUOTED = {name: re.compile(rf"^\W*{name}\W*[:=-]\s*(.*)$", re.I | re.M)
           for name in ("RUDE", "INVENTED", "ANSWERED")}
_NOTHING = re.compile(r"^\W*(none|no|nothing|n/?a|-)?\W*$", re.I)
_YES_NO = re.compile(r"\b(yes|no)\b", re.I)
_MAX_TOOL_CHARS = 500  # a long tool result is cut: the judge's prompt stays small on a CPU


class JudgeVerdict(BaseModel):
    """None where the judge's answer did not say (kept in `raw`)."""

    polite: bool | None
    no_invented_facts: bool | None
    answered: bool | None
    reason: str = ""
    model: str = ""
    raw: str = ""

    @property
    def all_good(self) -> bool | None:
        values = (self.polite, self.no_invented_facts, self.answered)
        return None if None in values else all(values)


class Exchange(BaseModel):
    """One line of a call as the judge reads it."""

    speaker: str  # "Caller" or "Agent"
    text: str


def call_exchanges(trace: CallTrace) -> list[Exchange]:
    lines = [Exchange(speaker="Agent", text=trace.greeting)] if trace.greeting else []
    for turn in trace.turns:
        lines.append(Exchange(speaker="Caller", text=turn.heard or turn.caller_text))
        said = turn.agent_text + (" [the caller cut in here]" if turn.interrupted else "")
        lines.append(Exchange(speaker="Agent", text=said.strip() or "(silence)"))
    return lines


def tool_facts(trace: CallTrace) -> list[str]:
    return [f"{c.name}({', '.join(f'{k}={v!r}' for k, v in c.arguments.items())}) returned: "
            f"{c.content[:_MAX_TOOL_CHARS]}" for c in trace.calls]


def persona_facts(persona) -> str:
    """What the agent was told to know: its policy (lore) entries, else its instructions
    (the judge's prompt stays short on a CPU; the policy is where the facts are)."""
    if persona.lore is not None and persona.lore.entries:
        return "\n".join(entry.content.strip() for entry in persona.lore.entries)
    return persona.system_prompt.strip()


def judge_prompt(exchanges: Sequence[Exchange], policy: str, tools: Sequence[str]) -> str:
    facts = policy or "(none)"
    results = "\n".join(f"- {t}" for t in tools) or "(no tool was called)"
    call = "\n".join(f"{e.speaker}: {e.text}" for e in exchanges)
    return (f"Facts the agent had. Its company's policy:\n{facts}\n\nWhat its tools returned "
            f"on this call:\n{results}\n\nThe call:\n{call}\n\n{_QUESTIONS}")


def parse_verdict(text: str, model: str = "") -> JudgeVerdict:
    """RUDE / INVENTED: a quote means yes, "none" means no; ANSWERED: yes or no. A line that
    is missing leaves its answer unknown (None)."""
    found = {name: m.group(1).strip() if (m := pattern.search(text)) else None
             for name, pattern in _QUOTED.items()}

    def quoted(value: str | None) -> bool | None:
        return None if value is None else not _NOTHING.match(value)

    rude, invented = quoted(found["RUDE"]), quoted(found["INVENTED"])
    answered = _YES_NO.search(found["ANSWERED"] or "")
    evidence = [f"{k.lower()}: {v}" for k, v in found.items()
                if k != "ANSWERED" and quoted(v)]
    return JudgeVerdict(polite=None if rude is None else not rude,
                        no_invented_facts=None if invented is None else not invented,
                        answered=None if answered is None else answered.group(1).lower() == "yes",
                        reason="; ".join(evidence)[:300], model=model, raw=text[:2000])


class ReplyJudge:
    def __init__(self, chat_model: ChatModel, label: str = "judge") -> None:
        self.chat_model = chat_model
        self.label = label

    async def judge(self, exchanges: Sequence[Exchange], policy: str,
                    tools: Sequence[str] = ()) -> JudgeVerdict:
        messages = [ChatMessage(role="system", content=_SYSTEM),
                    ChatMessage(role="user", content=judge_prompt(exchanges, policy, tools))]
        return parse_verdict(await complete_text(self.chat_model, messages), self.label)

    async def judge_call(self, trace: CallTrace, persona) -> JudgeVerdict:
        return await self.judge(call_exchanges(trace), persona_facts(persona), tool_facts(trace))
