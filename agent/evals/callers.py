"""Simulated callers: who phones the agent in a scenario.

`ScriptedCaller` says fixed turns (deterministic: for CI and regression checks);
`LlmCaller` plays the scenario's goal and facts through any stepvox chat backend (the
embedded model, the quality profile, an OpenAI-compatible server), writing the caller's next
line under a transcript of the call, and decides itself when the goal is met or not
reachable. Both answer the agent's approval questions; the
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


_CALLER_SYSTEM = ("You write the next line of a phone call for the caller, a customer "
                  "phoning a help line. You never write the agent's lines.")
# Small models asked to *be* the caller, with the agent's words as their `user` turns, stay
# in the assistant's part: the packaged 0.5B and 1.5B answered the greeting with "How can I
# help you?". Asked to write the caller's next line under a transcript, they keep the part.
_CALLER_TASK = """The caller's goal: {goal}
What the caller knows (a fact is said only when it is needed or asked for): {facts}

The call so far:
{transcript}

Write only the caller's next line: one or two short spoken sentences that move the goal on.
Use no fact the caller does not know; if asked for one, the caller says they don't have it.
When the agent asks for a yes or no, the caller answers by the goal.
When the agent's last line already gives what the goal asks for, or the goal is done, the
caller thanks them, says goodbye, and the line ends with [END].
If the agent clearly cannot help after trying, the line says goodbye and ends with [GIVE UP].

Caller:"""
# A line that shares this much of its words with the agent's last line is the agent's part
# said back ("How can I help you today?"), not the caller's: it is written again; so is one
# that says an earlier caller line again (the 1.5B asked the same question three times), or
# one the model labelled as the agent's ("Agent: Can you provide the departure time?").
_ECHO_SHARE = 0.6
_REPEAT_SHARE = 0.8
_AGENT_LABEL = re.compile(r"^\W*(?:agent|assistant|representative|support)\s*:", re.I)
_TRIES = 5


@dataclass
class LlmCaller:
    """A language model writing the caller's lines under a transcript of the call."""

    spec: CallerSpec
    chat_model: ChatModel
    max_words: int = 60  # a caller who rambles past this is cut, as a listener would
    end_reason: EndReason = "turn_limit"
    _lines: list[tuple[str, str]] = field(default_factory=list)  # (who, words)

    def barges_in(self, approval_pending: bool) -> bool:
        return self.spec.barge_in

    def _task(self) -> list[ChatMessage]:
        facts = "; ".join(f"{k}: {v}" for k, v in self.spec.facts.items()) or "nothing special"
        transcript = "\n".join(f"{who}: {words}" for who, words in self._lines)
        return [ChatMessage(role="system", content=_CALLER_SYSTEM),
                ChatMessage(role="user", content=_CALLER_TASK.format(
                    goal=self.spec.goal, facts=facts, transcript=transcript))]

    async def next_utterance(self, agent_said: str, approval_pending: bool) -> str | None:
        self._lines.append(("Agent", agent_said or "(silence)"))
        text = ""
        earlier = [words for who, words in self._lines if who == "Caller"]
        for _ in range(_TRIES):  # the caller samples, so a second try says something else
            text = _first_line((await complete_text(self.chat_model, self._task())).strip())
            if not (_AGENT_LABEL.match(text) or echoes(text, agent_said)
                    or any(echoes(text, line, _REPEAT_SHARE) for line in earlier)):
                break
        done, gave_up = bool(_DONE.search(text)), bool(_GIVE_UP.search(text))
        spoken = _clean(_GIVE_UP.sub("", _DONE.sub("", text)))
        words = spoken.split()
        if len(words) > self.max_words:
            spoken = " ".join(words[: self.max_words])
        self._lines.append(("Caller", spoken or text))
        if done or gave_up:
            # The goodbye itself changes nothing on the agent's side: hang up here.
            self.end_reason = "caller_gave_up" if gave_up and not done else "caller_done"
            return None
        if not spoken or _AGENT_LABEL.match(text) or echoes(spoken, agent_said):
            self.end_reason = "caller_gave_up"  # no caller line in all the tries: say so
            return None
        return spoken


_WORD = re.compile(r"[\w']+")


def echoes(line: str, other: str, share: float = _ECHO_SHARE) -> bool:
    """Whether at least `share` of the line's words are words of `other` (the agent's last
    line said back, or an earlier line said again)."""
    words = [w.lower() for w in _WORD.findall(line)]
    theirs = {w.lower() for w in _WORD.findall(other)}
    return bool(words) and sum(w in theirs for w in words) / len(words) >= share


def _first_line(text: str) -> str:
    # The model may go on to write the agent's answer too ("...\nAgent: Sure, ..."): the
    # caller's line ends where another speaker's begins.
    return re.split(r"\n\s*(?:agent|assistant|representative|support)\s*:", text, flags=re.I)[0]


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
