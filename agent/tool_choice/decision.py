"""Whether a turn should be a tool call, and which tool: the embedded model's odds combined
with the semantic prior.

`CallFeatures` are read per turn (see `agent.backends.llama_cpp.tool_routing` and `agent.tool_choice.prior`). Two
deciders implement the `CallDecider` protocol:

- `OddsThreshold`: the call-opening probability, with history or for the message alone,
  clears a threshold (used when MiniLM is not installed);
- `CallCombiner`: a logistic regression over the model's odds and the prior (see
  `CallFeatures.vector`), fitted by bench/fit_call_decision.py on the calibration half of
  bench/data/toolcall_eval.jsonl only (the held-out half is only scored).

- `DescribedCall`: for tools nobody wrote example requests for (anyone's plugin, MCP server
  or function spec), how close the request is to the tool's own name and description
  against how close it is to small talk. Fitted by bench/fit_call_decision.py on functions
  no one here wrote (BFCL's live and executable categories), never on the categories the
  bench reports; it reads no model odds, so one fit serves every model;
- `EitherDecision`: a call when the example-backed combiner or, for a tool known by its
  description only, `DescribedCall` says so; where the nearest tool is described-only, the
  model's own call odds must also reach a floor fitted per model
  (bench/fit_described_floor.py).

`choose_tool` then picks the tool of a decided call from the model's name probabilities and
the prior, because the 0.5B model sends price and news questions to `get_date_time` or
`get_weather` when left to write the name itself.
"""

from __future__ import annotations

import math
from typing import Protocol

from pydantic import BaseModel

from agent.tool_choice.prior import PriorScores

_EPS = 1e-6


def logit(p: float) -> float:
    p = min(max(p, _EPS), 1 - _EPS)
    return math.log(p / (1 - p))


class CallFeatures(BaseModel):
    """What one user turn looks like to the call decision."""

    with_history: float  # P(a call opens next), whole conversation in the prompt
    alone: float  # the same for the latest user message with no history
    prior: PriorScores | None = None  # None when MiniLM is not installed
    after_tool: bool = False  # the turn before this one made a tool call

    def call_probability(self) -> float:
        """The model's call odds the decision reads: the larger of the two, since the
        with-history odds carry nothing after small talk, where the 0.5B model never opens
        a call; right after a tool turn, their mean, since the call just made primes the
        history's odds ("when is christmas" after a weather call: 0.87 with the history,
        0.02 alone). Chosen on the calibration half's records after a tool turn: false
        calls 8 -> 4 of 30, recall 33 of 33 kept (the odds alone: 3 of 30, but 32 of 33)."""
        if self.after_tool:
            return (self.with_history + self.alone) / 2
        return max(self.with_history, self.alone)

    def vector(self) -> list[float]:
        """[logit of `call_probability`, best tool cosine minus best no-tool cosine, the
        prior's classifier decision value]."""
        if self.prior is None:
            raise ValueError("CallFeatures.vector needs the semantic prior")
        return [logit(self.call_probability()),
                self.prior.best_tool - self.prior.no_tool, self.prior.call_logit]


FEATURE_NAMES = ("logit_max_call_probability", "cosine_margin", "prior_call_logit")


class CallDecider(Protocol):
    def decide(self, features: CallFeatures) -> bool: ...


class OddsThreshold(BaseModel):
    """Call when either call-opening probability clears `threshold`."""

    threshold: float = 0.88

    def decide(self, features: CallFeatures) -> bool:
        return max(features.with_history, features.alone) >= self.threshold


class CallCombiner(BaseModel):
    """P(call) = sigmoid(bias + weights . features); call when it clears `threshold`.
    Falls back to `fallback` for features without a prior."""

    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5
    fallback: OddsThreshold = OddsThreshold()

    def probability(self, features: CallFeatures) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, features.vector(), strict=True))
        return 1.0 / (1.0 + math.exp(-z))

    def decide(self, features: CallFeatures) -> bool:
        if features.prior is None:
            return self.fallback.decide(features)
        return self.probability(features) >= self.threshold


class DescribedCall(BaseModel):
    """P(call) = sigmoid(bias + w . [best description cosine, best minus no-tool cosine])
    over the tools known by description only; call when it clears `threshold`."""

    weights: tuple[float, float]
    bias: float
    threshold: float = 0.5

    def probability(self, features: CallFeatures) -> float:
        prior = features.prior
        if prior is None or not prior.described_only:
            return 0.0
        best = prior.best_described
        z = self.bias + self.weights[0] * best + self.weights[1] * (best - prior.no_tool)
        return 1.0 / (1.0 + math.exp(-z))

    def decide(self, features: CallFeatures) -> bool:
        return self.probability(features) >= self.threshold


class SureCall(BaseModel):
    """A request nearest a described-only tool is also a call when the model itself is all
    but sure of one (its call odds reach `odds`) and the request is at least loosely about
    the tool (description cosine `cosine` or more). MiniLM alone misses a request worded
    unlike the description ("Translate 'Hello, how are you?' to French" at 0.33 to a
    `translate` function); the model, shown the function, is not in doubt. Fitted per model
    by bench/fit_described_sure.py on BFCL's live and executable categories."""

    odds: float
    cosine: float

    def decide(self, features: CallFeatures) -> bool:
        prior = features.prior
        return prior is not None and bool(prior.described_only) and \
            features.call_probability() >= self.odds and prior.best_described >= self.cosine


# A turn (or one of its sentences) this close to one of a tool's own example requests asks
# for that tool, whatever the model's odds: no request of the calibration half without a
# call comes within 0.80 of a built-in example, and a plugin author's examples should work
# even for a tool the model is shy of (a desk's hand-off: odds 0.045 for "I want to speak to
# a real person, please. It's about a complaint.").
SAID_EXAMPLE = 0.85


def says_an_example(features: CallFeatures) -> bool:
    prior = features.prior
    return prior is not None and prior.said_tool is not None and \
        prior.said_example >= SAID_EXAMPLE


class EitherDecision(BaseModel):
    """A call when the examples say so, or a described-only tool's description does, or the
    caller said one of a tool's examples nearly word for word, or (`sure`) the model is all
    but sure of a call to a described-only tool the request is loosely about.

    A request whose nearest tool is known by description only is called only when the model
    itself leans to a call too (its call odds reach `described_odds_floor`): MiniLM reads
    "What's the timezone in London?" as close to `get_local_time` and "What is a holy book?"
    as close to `search_holy_books`, but the model, shown those functions, gives a call 0.01
    and 0.00. The floor is the model's own (odds differ by model), chosen on BFCL's live and
    executable categories, never on the reported ones (bench/fit_described_call.py)."""

    examples: CallCombiner
    described: DescribedCall
    described_odds_floor: float = 0.0
    sure: SureCall | None = None

    def decide(self, features: CallFeatures) -> bool:
        if says_an_example(features):
            return True
        if self.sure is not None and nearest_is_described(features) and \
                self.sure.decide(features):
            return True
        if not (self.examples.decide(features) or self.described.decide(features)):
            return False
        return not nearest_is_described(features) or \
            features.call_probability() >= self.described_odds_floor


def nearest_is_described(features: CallFeatures) -> bool:
    """Whether the tool nearest the request is one known by its description only."""
    prior = features.prior
    if prior is None or not prior.described_only or not prior.by_tool:
        return False
    return max(prior.by_tool, key=prior.by_tool.__getitem__) in prior.described_only


class ToolChooser(BaseModel):
    """score(tool) = log P_model(name) + prior_weight * cosine(tool); the best score wins."""

    prior_weight: float = 0.0

    def choose(self, name_probs: dict[str, float], prior: PriorScores | None) -> str:
        if (prior is not None and prior.said_tool in name_probs
                and prior.said_example >= SAID_EXAMPLE):
            return prior.said_tool  # the caller said that tool's example

        def score(name: str) -> float:
            s = math.log(max(name_probs.get(name, 0.0), _EPS))
            if prior is not None:
                s += self.prior_weight * prior.by_tool.get(name, 0.0)
            return s

        return max(name_probs, key=score)


# Fitted on the dev half of bench/data/toolcall_eval.jsonl (170 records) by
# `bench/fit_call_decision.py fit --min-recall 0.97`, with the prompts the backend sends
# (`render_turn_prompt`: each user turn opens with TURN_NOTE), for the packaged 0.5B model as
# it is loaded: its IQ4_NL copy (agent/models/requantize.py). The threshold is the highest
# that keeps dev recall >= 97 %; the test half was only scored (bench/README.md, tool-call
# quality). Without MiniLM the odds alone decide: 0.88 is the highest threshold keeping dev
# recall >= 97 % (install the `embeddings` or `embedded` extra for the combiner).
FITTED_COMBINER = CallCombiner(weights=(0.845, 10.1943, 1.3981), bias=-1.8512, threshold=0.3174,
                               fallback=OddsThreshold(threshold=0.88))
FITTED_CHOOSER = ToolChooser(prior_weight=29.0)
# Fitted by `bench/fit_described_call.py` on BFCL's live and executable categories (never the
# reported ones); the threshold leaves 85 % of the calibration's irrelevant requests alone.
# It reads MiniLM only, so every model shares it.
FITTED_DESCRIBED = DescribedCall(weights=(8.9621, -0.4034), bias=-2.8699, threshold=0.7073)
# The model-odds floor for a request nearest a described-only tool: by
# `bench/fit_described_floor.py --profile default`, the largest on its grid that keeps 99 % of
# the calibration calls (BFCL live and executable categories) the decision makes without it.
# The sure-call pair: by `bench/fit_described_sure.py --profile default`, the grid pair that
# adds the most calibration calls (247 -> 267 of 330) with at most 1 % more false ones (27 ->
# 28 of 160 `live_irrelevance` requests).
DEFAULT_DECIDER: CallDecider = EitherDecision(examples=FITTED_COMBINER,
                                              described=FITTED_DESCRIBED,
                                              described_odds_floor=0.2,
                                              sure=SureCall(odds=0.85, cosine=0.35))
DEFAULT_CHOOSER = FITTED_CHOOSER

# The weights belong to one model's odds (the 1.5B model gives a call a quarter of the 0.5B
# model's probability), so each packaged model has its own fit, by its GGUF file name.
FITTED_BY_MODEL: dict[str, tuple[CallDecider, ToolChooser]] = {
    "qwen2.5-coder-0.5b-instruct-iq4_nl.gguf": (DEFAULT_DECIDER, FITTED_CHOOSER),
    # The packaged file itself (STEPVOX_LLM_REQUANTIZE=false). Without MiniLM, 0.684 keeps dev
    # recall >= 97 % at 68 % precision.
    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf": (
        EitherDecision(examples=CallCombiner(weights=(1.6843, 9.7773, 1.5543), bias=-3.9528,
                                             threshold=0.2914,
                                             fallback=OddsThreshold(threshold=0.684)),
                       described=FITTED_DESCRIBED),
        ToolChooser(prior_weight=26.0)),
    # Refitted with the turn note before the words. Its odds give a call far less mass (the
    # fit leans on the prior), so without MiniLM its threshold is tiny: 0.0002 keeps dev
    # recall >= 97 % at 66 % precision. Its described-odds floor, by
    # `bench/fit_described_floor.py --profile quality` the same way as the 0.5B's, is tiny
    # for the same reason (0.0005: every calibration call kept, 12 -> 10 of 100
    # `live_irrelevance` calls); no sure-call pair adds a call for it.
    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf": (
        EitherDecision(examples=CallCombiner(weights=(0.1418, 8.6554, 1.59), bias=-0.4026,
                                             threshold=0.3495,
                                             fallback=OddsThreshold(threshold=0.0002)),
                       described=FITTED_DESCRIBED, described_odds_floor=0.0005),
        ToolChooser(prior_weight=19.5)),
}


def fitted_for(model_file: str) -> tuple[CallDecider, ToolChooser]:
    """The fitted decision for a model file; the packaged 0.5B model's for any other (refit
    with bench/fit_call_decision.py for a model of your own)."""
    return FITTED_BY_MODEL.get(model_file, (DEFAULT_DECIDER, DEFAULT_CHOOSER))
