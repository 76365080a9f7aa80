"""Simulated callers: who phones the agent in a scenario.

`ScriptedCaller` says fixed turns (deterministic: for CI and regression checks);
`LlmCaller` plays the scenario's goal and facts through any stepvox chat backend (the
embedded model, the quality profile, an OpenAI-compatible server) and decides itself when
the goal is met or not reachable. Both answer the agent's approval questions; the
scripted one with the scenario's `approval_answer`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from agent.chat_model import ChatMessage, ChatModel, complete_text
from agent.evals.format import CallerSpec
from agent.evals.trace import EndReason

_DONE = re.compile(r"\[(?:END|DONE)\]", re.I)
_GIVE_UP = re.compile(r"\[GIVE[ _]?UP\]", re.I)
# The agent decodes greedily; a caller sampled the same way would say the same words in every
# trial, and pass^k would measure one call k times.
CALLER_TEMPERATURE = 0.7


class Caller(Protocol):
    """Says the next thing on the call, or None to hang up (`end_reason` says why)."""

    end_reason: EndReason

    async def next_utterance(self, agent_said: str, approval_pending: bool) -> str | None: ...

    def barges_in(self, approval_pending: bool) -> bool:
        """Whether the next line is said over the agent's reply (realtime runs)."""
        ...


class ScriptedCaller:
    def __init__(self, spec: CallerSpec) -> None:
        if not spec.turns:
            raise ValueError("the scripted caller needs caller.turns in the scenario")
        self.spec = spec
        self._next = 0
        self.end_reason: EndReason = "script_done"

    def script(self) -> list[str]:
        """Every line it may say, approval answers aside."""
        return [t if isinstance(t, str) else t.say for t in self.spec.turns]

    def barges_in(self, approval_pending: bool) -> bool:
        if self.spec.barge_in:
            return True
        if approval_pending or self._next >= len(self.spec.turns):
            return False
        turn = self.spec.turns[self._next]
        return not isinstance(turn, str) and turn.barge_in

    async def next_utterance(self, agent_said: str, approval_pending: bool) -> str | None:
        if approval_pending:
            return self.spec.approval_answer
        while self._next < len(self.spec.turns):
            turn = self.spec.turns[self._next]
            self._next += 1
            if isinstance(turn, str):
                return turn
            if not turn.if_asked or "?" in agent_said:
                return turn.say
        return None


_CALLER_PROMPT = """You are role-playing a person phoning a customer-service line. You are the caller, not the agent.
Your goal: {goal}
What you know (give a fact only when it is needed or asked for): {facts}
Rules:
- Speak as the caller, in one or two short spoken sentences, in plain words. No lists, no notes.
- Do not invent facts you were not given; if asked for something you do not know, say so.
- When the agent asks you to confirm a change with yes or no, answer according to your goal.
- When your goal is done, say goodbye and end with [END].
- If the agent clearly cannot help after trying, say goodbye and end with [GIVE UP]."""


@dataclass
class LlmCaller:
    """A language model playing the caller. The roles are mirrored for it: the agent's words
    are its `user` turns and its own earlier lines its `assistant` turns."""

    spec: CallerSpec
    chat_model: ChatModel
    max_words: int = 60  # a caller who rambles past this is cut, as a listener would
    end_reason: EndReason = "turn_limit"
    _history: list[ChatMessage] = field(default_factory=list)

    def barges_in(self, approval_pending: bool) -> bool:
        return self.spec.barge_in

    def _system(self) -> str:
        facts = "; ".join(f"{k}: {v}" for k, v in self.spec.facts.items()) or "nothing special"
        return _CALLER_PROMPT.format(goal=self.spec.goal, facts=facts)

    async def next_utterance(self, agent_said: str, approval_pending: bool) -> str | None:
        self._history.append(ChatMessage(role="user", content=agent_said or "(silence)"))
        messages = [ChatMessage(role="system", content=self._system()), *self._history]
        text = (await complete_text(self.chat_model, messages)).strip()
        done, gave_up = bool(_DONE.search(text)), bool(_GIVE_UP.search(text))
        spoken = _clean(_GIVE_UP.sub("", _DONE.sub("", text)))
        words = spoken.split()
        if len(words) > self.max_words:
            spoken = " ".join(words[: self.max_words])
        self._history.append(ChatMessage(role="assistant", content=spoken or text))
        if done or gave_up:
            # The goodbye itself changes nothing on the agent's side: hang up here.
            self.end_reason = "caller_gave_up" if gave_up and not done else "caller_done"
            return None
        if not spoken:
            self.end_reason = "caller_gave_up"
            return None
        return spoken


def _clean(text: str) -> str:
    # Small models prefix their line with a role name or wrap it in quotes.
    text = re.sub(r"^\s*(caller|customer|me|user)\s*:\s*", "", text.strip(), flags=re.I)
    return text.strip().strip('"').strip()


def make_caller(kind: str, spec: CallerSpec, chat_model: ChatModel | None = None) -> Caller:
    if kind == "scripted":
        return ScriptedCaller(spec)
    if kind == "llm":
        if chat_model is None:
            raise ValueError("the llm caller needs a chat model")
        vary = getattr(chat_model, "with_temperature", None)  # a local model; a server samples itself
        return LlmCaller(spec, vary(CALLER_TEMPERATURE) if vary else chat_model)
    raise ValueError(f"unknown caller {kind!r}: use 'scripted' or 'llm'")
