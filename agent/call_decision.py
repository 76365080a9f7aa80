"""Whether a turn should be a tool call, and which tool: the embedded model's odds combined
with the semantic prior.

`CallFeatures` are read per turn (see `agent.tool_routing` and `agent.tool_prior`). Two
deciders implement the `CallDecider` protocol:

- `OddsThreshold`: the call-opening probability, with history or for the message alone,
  clears a threshold (used when MiniLM is not installed);
- `CallCombiner`: a logistic regression over the model's odds and the prior (see
  `CallFeatures.vector`), fitted by bench/fit_call_decision.py on the calibration half of
  bench/data/toolcall_eval.jsonl only (the held-out half is only scored).

`choose_tool` then picks the tool of a decided call from the model's name probabilities and
the prior, because the 0.5B model sends price and news questions to `get_date_time` or
`get_weather` when left to write the name itself.
"""

from __future__ import annotations

import math
from typing import Protocol

from pydantic import BaseModel

from agent.tool_prior import PriorScores

_EPS = 1e-6


def logit(p: float) -> float:
    p = min(max(p, _EPS), 1 - _EPS)
    return math.log(p / (1 - p))


class CallFeatures(BaseModel):
    """What one user turn looks like to the call decision."""

    with_history: float  # P(a call opens next), whole conversation in the prompt
    alone: float  # the same for the latest user message with no history
    prior: PriorScores | None = None  # None when MiniLM is not installed

    def vector(self) -> list[float]:
        """[logit of the larger call probability, best tool cosine minus best no-tool cosine,
        the prior's classifier decision value] (chosen on the calibration half: the
        with-history odds alone carry nothing after small talk, where the 0.5B model
        never opens a call)."""
        if self.prior is None:
            raise ValueError("CallFeatures.vector needs the semantic prior")
        return [logit(max(self.with_history, self.alone)),
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


class ToolChooser(BaseModel):
    """score(tool) = log P_model(name) + prior_weight * cosine(tool); the best score wins."""

    prior_weight: float = 0.0

    def choose(self, name_probs: dict[str, float], prior: PriorScores | None) -> str:
        def score(name: str) -> float:
            s = math.log(max(name_probs.get(name, 0.0), _EPS))
            if prior is not None:
                s += self.prior_weight * prior.by_tool.get(name, 0.0)
            return s

        return max(name_probs, key=score)


# Fitted on the dev half of bench/data/toolcall_eval.jsonl (170 records) by
# `bench/fit_call_decision.py fit --min-recall 0.97`, with the prompts the backend sends
# (`render_turn_prompt`: each user turn opens with TURN_NOTE), for the packaged 0.5B model as
# it is loaded: its IQ4_NL copy (agent/model_requantize.py). The threshold is the highest
# that keeps dev recall >= 97 %; the test half was only scored (bench/README.md, tool-call
# quality). Without MiniLM the odds alone decide: 0.88 is the highest threshold keeping dev
# recall >= 97 % (install the `embeddings` or `embedded` extra for the combiner).
FITTED_COMBINER = CallCombiner(weights=(0.845, 10.1943, 1.3981), bias=-1.8512, threshold=0.3174,
                               fallback=OddsThreshold(threshold=0.88))
FITTED_CHOOSER = ToolChooser(prior_weight=29.0)
DEFAULT_DECIDER: CallDecider = FITTED_COMBINER
DEFAULT_CHOOSER = FITTED_CHOOSER

# The weights belong to one model's odds (the 1.5B model gives a call a quarter of the 0.5B
# model's probability), so each packaged model has its own fit, by its GGUF file name.
FITTED_BY_MODEL: dict[str, tuple[CallDecider, ToolChooser]] = {
    "qwen2.5-coder-0.5b-instruct-iq4_nl.gguf": (FITTED_COMBINER, FITTED_CHOOSER),
    # The packaged file itself (STEPVOX_LLM_REQUANTIZE=false). Without MiniLM, 0.684 keeps dev
    # recall >= 97 % at 68 % precision.
    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf": (
        CallCombiner(weights=(1.6843, 9.7773, 1.5543), bias=-3.9528, threshold=0.2914,
                     fallback=OddsThreshold(threshold=0.684)),
        ToolChooser(prior_weight=26.0)),
    # Refitted with the turn note before the words. Its odds give a call far less mass (the
    # fit leans on the prior), so without MiniLM its threshold is tiny: 0.0002 keeps dev
    # recall >= 97 % at 66 % precision.
    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf": (
        CallCombiner(weights=(0.1418, 8.6554, 1.59), bias=-0.4026, threshold=0.3495,
                     fallback=OddsThreshold(threshold=0.0002)),
        ToolChooser(prior_weight=19.5)),
}


def fitted_for(model_file: str) -> tuple[CallDecider, ToolChooser]:
    """The fitted decision for a model file; the packaged 0.5B model's for any other (refit
    with bench/fit_call_decision.py for a model of your own)."""
    return FITTED_BY_MODEL.get(model_file, (DEFAULT_DECIDER, DEFAULT_CHOOSER))
