"""Why a turn did or did not become a tool call: the readings and the verdict of each part
of the decision (`agent.tool_choice.decision`), for `stepvox tools try` and for plugin authors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from agent.tool_choice.decision import (
    SAID_EXAMPLE, CallDecider, CallCombiner, CallFeatures, DescribedCall, EitherDecision,
)


class CallReport(BaseModel):
    """One user turn as the call decision saw it."""

    with_history: float  # P(a call opens next) with the conversation in the prompt
    alone: float  # the same for the latest message alone
    by_tool: dict[str, float] = {}  # best cosine to each tool's examples or description
    by_description: dict[str, float] = {}  # cosine to each tool's name + description
    described_only: list[str] = []  # tools known by description only (no examples)
    no_tool: float | None = None  # best cosine to requests that need no tool
    examples_probability: float | None = None  # the example-backed combiner's P(call)
    examples_threshold: float | None = None
    described_probability: float | None = None  # the description-only decision's P(call)
    described_threshold: float | None = None
    said_example: float | None = None  # closest a sentence came to one of a tool's examples
    said_tool: str | None = None
    # For a request nearest a described-only tool, the model's own call odds must reach this.
    described_odds_floor: float | None = None
    # The model's odds and the description cosine at which it calls a described-only tool
    # on its own certainty (`SureCall`), when the decision has that rule.
    sure_odds: float | None = None
    sure_cosine: float | None = None
    called: bool = False
    asks_nothing: bool = False  # a feeling, thanks or an opinion: no call (asks_nothing.py)
    tool: str | None = None  # the tool chosen for the call
    name_probabilities: dict[str, float] = {}  # the model's odds for each tool's name
    arguments: dict[str, Any] | None = None

    def reason(self) -> str:
        """One sentence a plugin author can act on."""
        if self.called:
            if (self.said_example or -1.0) >= SAID_EXAMPLE and self.said_tool == self.tool:
                return (f"called {self.tool}: the request says one of its examples "
                        f"(cosine {self.said_example:.2f} >= {SAID_EXAMPLE})")
            odds = max(self.with_history, self.alone)
            # The tool is named once chosen; the nearest one until then.
            tool = self.tool or max(self.by_tool, key=self.by_tool.get, default=None)
            described = (self.described_probability or 0.0) >= (self.described_threshold or 0.5)
            if self.sure_odds is not None and tool in self.described_only and \
                    odds >= self.sure_odds and not described:
                return (f"called {tool}: the model itself is all but sure of a call "
                        f"(odds {odds:.2f} >= {self.sure_odds}) and the request is near enough "
                        f"its description (cosine >= {self.sure_cosine})")
            if described and self.examples_probability is not None \
                    and self.examples_probability < (self.examples_threshold or 0.5):
                return (f"called {tool}: the request is close to its description "
                        f"(P {self.described_probability:.2f} >= {self.described_threshold})")
            return f"called {tool}: the model's odds and the examples agree"
        if not self.by_tool:
            return "no call: no tools are offered"
        if self.asks_nothing:
            return ("no call: the request asks for nothing (a feeling, thanks or an opinion, "
                    "with no question after it); a tool's own example said word for word "
                    "would still call it")
        best = max(self.by_tool, key=self.by_tool.get)
        odds = max(self.with_history, self.alone)
        if best in self.described_only and self.described_odds_floor is not None \
                and odds < self.described_odds_floor:
            return (f"no call: the closest tool, {best}, is known by its description only, "
                    f"and the model itself gives a call {odds:.2f} (< "
                    f"{self.described_odds_floor}); a description that says what the tool "
                    f"returns, or `examples=[...]`, helps")
        hint = ("give it `examples=[...]` or a description in the user's words"
                if best in self.described_only else "add examples closer to this request")
        return (f"no call: the closest tool, {best} (cosine {self.by_tool[best]:.2f}), is "
                f"not close enough to this request; {hint}")


def call_report(features: CallFeatures, decider: CallDecider, *,
                vetoed: bool = False) -> CallReport:
    """The readings of `features` and the probabilities behind `decider`'s verdict
    (`vetoed`: the turn asked for nothing, so no call whatever the parts say)."""
    prior = features.prior
    report = CallReport(with_history=features.with_history, alone=features.alone,
                        called=decider.decide(features) and not vetoed, asks_nothing=vetoed)
    if prior is not None:
        report = report.model_copy(update={
            "by_tool": prior.by_tool, "by_description": prior.by_description,
            "described_only": prior.described_only, "no_tool": prior.no_tool,
            "said_example": prior.said_example, "said_tool": prior.said_tool})
    parts: list[Any] = [decider.examples, decider.described] if isinstance(
        decider, EitherDecision) else [decider]
    if isinstance(decider, EitherDecision) and decider.described_odds_floor > 0:
        report.described_odds_floor = decider.described_odds_floor
    if isinstance(decider, EitherDecision) and decider.sure is not None:
        report.sure_odds, report.sure_cosine = decider.sure.odds, decider.sure.cosine
    for part in parts:
        if isinstance(part, CallCombiner) and prior is not None:
            report.examples_probability = part.probability(features)
            report.examples_threshold = part.threshold
        elif isinstance(part, DescribedCall):
            report.described_probability = part.probability(features)
            report.described_threshold = part.threshold
    return report
