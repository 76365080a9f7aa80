"""Several calls in one turn on the embedded model: "the weather in Paris and in Rome", "the
area of circles of radius 5 and 10".

After the first call is written, the prompt is continued with a line break and the model's
probability of opening another call is read, as for the first. The small model ends its reply
after one call almost always (P(end) ~ 0.99), so its own choice is no signal; what separates
is how sure it is that a call opens once a line is begun. On BFCL's executable categories
(never the ones the bench reports), after requests that name several items it was above 0.95
for 7 of 9 (0.78-0.997), after single requests for none of 9 (0.74-0.93); hence the
threshold. A further call is kept only when it is a
new call that brings a value the user said and no earlier call used: a second call exists
because the user named a second thing, so anything else (a repeat, a value from nowhere) ends
the turn's calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from agent.chat_model import ToolCall
from agent.backends.llama_cpp.chatml_prompt import call_head
from agent.backends.llama_cpp.calls import parse_call
from agent.backends.llama_cpp.tool_routing import call_probability, tool_name_probabilities
from tools.arguments import argument_values

# A turn's calls at most, and the odds a further call needs once a new line is begun.
MAX_CALLS = 4
FURTHER_CALL_THRESHOLD = 0.95



def values_of(node: Any) -> list[str]:
    """Every leaf value of an arguments object, as the user would say it ("10", "paris")."""
    return [v.lower() for v in argument_values(node)]


def brings_a_new_said_value(call: ToolCall, earlier: Sequence[ToolCall], said: str) -> bool:
    """True when `call` is not a repeat and one of its values the earlier calls did not use
    appears in the user's words."""
    if any(call.name == c.name and call.arguments == c.arguments for c in earlier):
        return False
    used = {v for c in earlier for v in values_of(c.arguments)}
    words = said.lower()
    # As whole words: a unit "m" is not said by "5 km".
    return any(v and v not in used and re.search(rf"(?<!\w){re.escape(v)}(?!\w)", words)
               for v in values_of(call.arguments))


class FurtherCalls:
    """Mixed into `LlamaCppChatModel`: its `_llm`, `_call_tokens`, `_arguments_grammar`
    and `_stream` are used."""

    further_call_threshold: float = FURTHER_CALL_THRESHOLD

    def _further_calls(self, prompt: str, first: str, said: str,
                       tools: Sequence[dict[str, Any]], emit: Callable[[tuple], None],
                       stopped: Callable[[], bool]) -> None:
        """After the first call's text `first` (already emitted), emit ("call_end", ...)
        and the next call's text for each further call the rules above keep."""
        by_name = {t["function"]["name"]: t for t in tools}
        try:
            calls = [parse_call(first)]
        except Exception:  # noqa: BLE001 - a cut-off first call is reported by the reader
            return
        written = first
        while len(calls) < MAX_CALLS and not stopped():
            base = f"{prompt}{written}\n"
            if call_probability(self._llm, base, self._call_tokens()) \
                    < self.further_call_threshold:
                return
            names = tool_name_probabilities(self._llm, base, list(by_name))
            name = max(names, key=names.get)
            pieces: list[str] = []
            head = call_head(name)
            self._stream(base + head, lambda item: pieces.append(item[1]),
                         lambda: not stopped(), grammar=self._arguments_grammar(by_name[name]))
            text = head + "".join(pieces)
            try:
                call = parse_call(text)
            except Exception:  # noqa: BLE001 - cut off by max_tokens: no further call
                return
            if not brings_a_new_said_value(call, calls, said):
                return
            emit(("call_end", None, None))
            emit(("text", text, None))
            calls.append(call)
            written = f"{written}\n{text}"

