"""The reply guard: the last defence against an attacker's line read out to the caller.

Withholding (`tools.untrusted_output.withhold_instructions`) keeps the lines it recognises
from the model; a line it misses can still be repeated word for word by a small model, and
what the attacker needs repeated is something the caller can act on: a phone number, a web
or email address, an account number, a booking code. Before a sentence of the reply is
spoken, the guard drops it when it carries such an identifier that

- appears in this turn's tool output, on a line that reads as an instruction to the reader
  (the patterns, or the learned detector's lower `guard_threshold`), and
- appears nowhere in the caller's own words.

A support number on an ordinary line ("Call support at 0800 123 4567 if the app will not
start.") is not guarded, so "what's the support number on that page?" is still answered;
bench/injection_detector_fit.py reports how often ordinary lines with identifiers are
flagged. With nothing to guard (the usual case) replies stream as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from agent.chat_model import ChatMessage
from tools import ToolResult
from tools.injection.instruction_detector import InstructionDetector
from tools.untrusted_output import is_instruction

_IDENTIFIERS = (
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),  # email address
    # web address: a dotted name ending in letters, with at least one letter before the end
    re.compile(r"\b(?:https?://)?(?:[a-z0-9-]*[a-z][a-z0-9-]*\.)+[a-z]{2,}(?:/[^\s]*)?", re.I),
    re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b"),  # IBAN
    re.compile(r"(?<![\w.])\+?\d[\d\s-]{3,}\d(?![\w.])"),  # phone or account number
    re.compile(r"\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{6}\b"),  # booking code
)
_MIN_DIGITS = 5  # "61212" is a short code; "2026", "1200" and "10 30" are not identifiers


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def identifiers(line: str) -> set[str]:
    """What a caller could act on in `line`, normalised (lower case, letters and digits)."""
    found = set()
    for pattern in _IDENTIFIERS:
        for match in pattern.finditer(line):
            key = _key(match.group(0))
            digits = sum(c.isdigit() for c in key)
            if key.isdigit() and digits < _MIN_DIGITS:
                continue
            if len(key) >= 5:
                found.add(key)
    return found


class ReplyGuard:
    """Decides, sentence by sentence, whether a reply may say what it says."""

    def __init__(self, guarded: Iterable[str]) -> None:
        # A reply may say part of a long identifier ("DE44 5001 ..."): 8 characters of it
        # are enough to count.
        self.needles = {g if len(g) <= 8 else g[:8] for g in guarded}

    def allows(self, sentence: str) -> bool:
        said = _key(sentence)
        return not any(n in said for n in self.needles)

    def filter(self, sentences: list) -> tuple[str, list]:
        """The text to show and the sentences to speak, of the finished `sentences` (each
        with a `.text`): the deltas are shown sentence by sentence, so a dropped one is
        neither heard nor read."""
        kept = [s for s in sentences if self.allows(s.text)]
        return "".join(s.text + " " for s in kept), kept


def guarded_identifiers(results: Sequence[ToolResult], messages: Sequence[ChatMessage],
                        detector: InstructionDetector | None,
                        tool_names: Sequence[str] = ()) -> set[str]:
    """Identifiers of suspicious tool-output lines that the caller never said."""
    said = _key(" ".join(m.content for m in messages if m.role == "user"))
    candidates = [(line, ids) for r in results if not r.is_error
                  for line in r.content.split("\n") if (ids := identifiers(line))]
    if not candidates:
        return set()
    flagged = [is_instruction(line, tool_names) for line, _ in candidates]
    if detector is not None:
        learned = detector.suspicious([line for line, _ in candidates])
        flagged = [a or b for a, b in zip(flagged, learned)]
    return {i for (line, ids), hit in zip(candidates, flagged) if hit for i in ids
            if i not in said}


def reply_guard(results: Sequence[ToolResult], messages: Sequence[ChatMessage],
                detector: InstructionDetector | None,
                tool_names: Sequence[str] = ()) -> ReplyGuard | None:
    """The guard for a reply after `results`, or None when it has nothing to guard."""
    guarded = guarded_identifiers(results, messages, detector, tool_names)
    return ReplyGuard(guarded) if guarded else None


def reply_guard_for(services, state) -> ReplyGuard | None:
    """The guard for the reply a `speak` node is about to say (None: nothing to guard, or
    the defence is off)."""
    from agent.turn.provenance import detector_for  # provenance imports nothing of here

    defence = services.injection_defence
    results = state.get("tool_results") or []
    if not (defence.guard_reply and results):
        return None
    return reply_guard(results, state.get("messages") or [], detector_for(defence),
                       services.tools.names)
