"""The call decision's readings on the embedded model: the model's call odds with and without
the history (the latter in a second context), the MiniLM prior, and the tool choice
(`agent.tool_choice.decision` decides from them), and the batch that reads the odds with the
turn-end estimate. A part of `LlamaCppChatModel`, kept apart from generation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agent.tool_choice.asks_nothing import asks_nothing
from agent.tool_choice.decision import CallFeatures, says_an_example
from agent.tool_choice.report import CallReport, call_report
from agent.chat_model import ChatMessage
from agent.backends.llama_cpp.batch import evaluate
from agent.backends.llama_cpp.chatml_prompt import render_turn_prompt, turn_head
from agent.backends.llama_cpp.tool_routing import (
    call_probability, next_token_probs, tool_name_probabilities,
)
from agent.backends.llama_cpp.turn_end_odds import end_probability, words_prefix


class CallReadings:
    """Mixed into `LlamaCppChatModel`, whose `_llm`, `_side_sequence`, prior, token lists
    and decider these methods use."""

    def _router(self) -> Any:
        """A second context over the same (memory-mapped) weights for history-free scores."""
        if self._router_llm is None:
            import llama_cpp

            # As large as the main context: it holds the same system prompt (a persona's
            # lore and tools), and a smaller one made such personas fail on every turn.
            self._router_llm = llama_cpp.Llama(self._model_path, n_ctx=self._llm.n_ctx(),
                                               n_threads=self._threads, verbose=False)
        return self._router_llm

    def call_features(self, messages: Sequence[ChatMessage],
                      tools: Sequence[dict[str, Any]], prompt: str, *,
                      with_history: float | None = None,
                      alone: float | None = None) -> CallFeatures:
        """The model's call odds with and without history, and the semantic prior, for a
        conversation whose last message is the user's (`with_history`, `alone`: those odds,
        when already read)."""
        if with_history is None:
            with_history = call_probability(self._llm, prompt, self._call_tokens())
        if alone is None:
            alone = with_history
            if len(messages) >= 3:  # history to discount: score the message on its own too
                alone = call_probability(self._router(), _alone_prompt(messages, tools),
                                         self._call_tokens())
        prior = self.tool_prior()
        scores = prior.scores(messages[-1].content, tools) if prior is not None else None
        return CallFeatures(with_history=with_history, alone=alone, prior=scores,
                            after_tool=follows_a_tool_turn(messages))

    def wants_tool_call(self, messages: Sequence[ChatMessage],
                        tools: Sequence[dict[str, Any]], prompt: str, *,
                        call_odds: tuple[float | None, float | None] = (None, None)) -> bool:
        """`call_odds`: (with history, alone) where already read (`_turn_readings`)."""
        if messages[-1].role != "user":  # an answer to a tool result is due
            return call_probability(self._llm, prompt, self._call_tokens()) \
                >= self.tool_call_threshold
        self._last_features = features = self.call_features(
            messages, tools, prompt, with_history=call_odds[0], alone=call_odds[1])
        self._last_vetoed = (asks_nothing(messages[-1].content or "")
                             and not says_an_example(features))
        # "i feel a bit sad today", "i like your voice": near the clock's or the voice
        # tool's examples, but nothing is asked (a tool's own example said still calls).
        return not self._last_vetoed and self.call_decider.decide(features)

    def choose_tool(self, messages: Sequence[ChatMessage], tools: Sequence[dict[str, Any]],
                    prompt: str) -> dict[str, Any]:
        """The schema of the tool a decided call uses (see `agent.tool_choice.decision`)."""
        if len(tools) == 1:
            return tools[0]
        by_name = {t["function"]["name"]: t for t in tools}
        probs = tool_name_probabilities(self._llm, prompt, list(by_name))
        self._last_names = probs
        prior = self._last_features.prior if self._last_features is not None else None
        return by_name[self.tool_chooser.choose(probs, prior)]

    def _turn_readings(self, messages: Sequence[ChatMessage], tools: Sequence[dict[str, Any]],
                       prompt: str, decide: bool, answer: str | None = None
                       ) -> tuple[float, tuple[float | None, ...]]:
        """The turn-end estimate after the user's words and, when a call is to be decided,
        the call odds after the whole prompt and (with history) for the latest message
        alone, from one llama.cpp batch (`agent.backends.llama_cpp.batch`). The estimate is then ready
        only with the odds (~50 ms later than on its own), still before any reply audio
        could be. None for odds that need their own evaluation. `answer`, the prompt a text
        reply would be written from, is evaluated in the same batch (`batch.evaluate`)."""
        user_text = messages[-1].content
        words = self._llm.tokenize(words_prefix(prompt, user_text).encode("utf-8"),
                                   special=True)
        full = self._llm.tokenize(prompt.encode("utf-8"), special=True) if decide else []
        if len(full) <= len(words) or full[:len(words)] != words:
            # No odds wanted, or the words' last token merges with what follows.
            return end_probability(next_token_probs(self._llm, words),
                                   self._turn_end_tokens()), (None, None)
        side, keep = None, 0
        if len(messages) >= 3 and self._side_sequence:
            side = self._llm.tokenize(_alone_prompt(messages, tools).encode("utf-8"),
                                      special=True)
            # Every turn's message-alone prompt opens the same way: sequence 1 keeps that.
            keep = self._token_count(turn_head(messages[:1], tools))
        later = None if answer is None else self._llm.tokenize(answer.encode("utf-8"),
                                                                special=True)
        (after_words, after_prompt), alone = evaluate(
            self._llm, full, [len(words), len(full)], side, keep, answer=later)
        calls = self._call_tokens()
        return (end_probability(after_words, self._turn_end_tokens()),
                (float(after_prompt[calls].sum()),
                 None if alone is None else float(alone[calls].sum())))

    def learn_tool_examples(self, examples: Mapping[str, Sequence[str]]) -> None:
        """Example requests of the agent's tools (`ToolRegistry.examples()`), for the prior."""
        prior = self.tool_prior()
        if prior is not None and examples:
            prior.add_examples(examples)

    def last_call_report(self) -> CallReport | None:
        """How the latest user turn's call decision went (None before one was decided)."""
        if self._last_features is None:
            return None
        report = call_report(self._last_features, self.call_decider,
                             vetoed=self._last_vetoed)
        report.name_probabilities = dict(getattr(self, "_last_names", None) or {})
        return report


def follows_a_tool_turn(messages: Sequence[ChatMessage]) -> bool:
    """Whether the turn before the latest user message made a tool call."""
    users = [i for i, m in enumerate(messages) if m.role == "user"]
    if len(users) < 2:
        return False
    return any(m.role == "assistant" and m.tool_calls for m in messages[users[-2]:users[-1]])


def _alone_prompt(messages: Sequence[ChatMessage], tools: Sequence[dict[str, Any]]) -> str:
    """The latest message without the history, as the call decision also scores it."""
    return render_turn_prompt([messages[0], messages[-1]], tools)
