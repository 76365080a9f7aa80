"""The Berkeley Function Calling Leaderboard v4 data, read straight from the `bfcl-eval` wheel.

The wheel (`bfcl-eval==2026.3.23`) holds every category as JSON lines: the questions in
`bfcl_eval/data/BFCL_v4_<category>.json` and their possible answers in
`bfcl_eval/data/possible_answer/BFCL_v4_<category>.json`; the executable categories
(`exec_simple`, `exec_multiple`, `exec_parallel`, `exec_parallel_multiple`) sit under
`bfcl_eval/data/unused_datasets/{question,possible_answer}/`. The package itself is never
installed (its dependencies are huge and conflict with ours): the wheel is fetched once with
`pip download bfcl-eval==2026.3.23 --no-deps` into `~/.cache/stepvox/bfcl` (or
`$STEPVOX_BFCL_DIR`) and read as a zip. A folder that holds the unpacked wheel, or the
excerpt folder `../shared/testdata/tools/bfcl` (`<file>.first3.jsonl`, first three records per
category), can be read the same way (`source=`).

Two sets, kept apart:

- `REPORTED` (non-live): what the bench reports: simple_python, multiple, parallel,
  parallel_multiple, irrelevance.
- `CALIBRATION`: the live categories (user-contributed functions) and the executable ones,
  for fitting a call decision without touching the reported set.

The executable categories state their answers as Python calls
(`calc_binomial_probability(n=20, k=5, p=1/6)`); they are turned into the AST form of the
other categories, `[{name: {param: [accepted values]}}]`: each given argument has its one
value (arithmetic such as `1/6` evaluated, positional arguments named in the spec's order, an
integer for a `float` parameter made a float), and each parameter of the spec the call does not
give may be left out (`""`) or carry its spec default; an argument the spec does not
have is dropped.

    from bench.bfcl_data import load_category, sample
    cases = sample(load_category("simple_python"), 40, seed=0)
    cases[0].user_text, cases[0].functions, cases[0].possible_answer
"""

from __future__ import annotations

import ast
import json
import operator
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel

WHEEL_REQUIREMENT = "bfcl-eval==2026.3.23"
WHEEL_GLOB = "bfcl_eval-2026.3.23-*.whl"
DATA_PREFIX = "bfcl_eval/data/"

REPORTED: tuple[str, ...] = ("simple_python", "multiple", "parallel", "parallel_multiple",
                             "irrelevance")
LIVE: tuple[str, ...] = ("live_simple", "live_multiple", "live_parallel",
                         "live_parallel_multiple", "live_irrelevance", "live_relevance")
EXEC: tuple[str, ...] = ("exec_simple", "exec_multiple", "exec_parallel",
                         "exec_parallel_multiple")
CALIBRATION: tuple[str, ...] = LIVE + EXEC


class BfclDataError(RuntimeError):
    """The BFCL data could not be found or read; the message says what to do."""


class BfclCase(BaseModel):
    """One BFCL entry.

    `question`: the messages of the entry in order (every turn's, flattened; single-turn
    categories have one turn, live ones sometimes with a system message first).
    `functions`: BFCL function specs (`name`, `description`, `parameters` with BFCL type names).
    `possible_answer`: for AST categories `[{function name: {param: [accepted values]}}]`, one
    dict per expected call; None where no answer file exists (irrelevance, relevance).
    """

    id: str
    category: str
    question: list[dict[str, Any]]
    functions: list[dict[str, Any]]
    possible_answer: list[Any] | None = None

    @property
    def user_text(self) -> str:
        """The last user message: what a single-turn request says."""
        for message in reversed(self.question):
            if message.get("role") == "user":
                return str(message.get("content") or "")
        return ""

    @property
    def system_text(self) -> str | None:
        """The entry's own system message, if it has one (some live entries)."""
        for message in self.question:
            if message.get("role") == "system":
                return str(message.get("content") or "")
        return None

    @property
    def kind(self) -> str:
        return scoring_kind(self.category)


def scoring_kind(category: str) -> str:
    """How a category is scored: "irrelevance" (no call is right), "relevance" (any call is
    right), "parallel" (all expected calls, any order; also parallel_multiple), "multiple"
    (one call among several offered functions) or "simple" (one call, one function)."""
    if "irrelevance" in category:
        return "irrelevance"
    if "relevance" in category:
        return "relevance"
    if "parallel" in category:
        return "parallel"
    if "multiple" in category:
        return "multiple"
    return "simple"


def cache_dir() -> Path:
    return Path(os.environ.get("STEPVOX_BFCL_DIR") or Path.home() / ".cache" / "stepvox" / "bfcl")


def wheel_path(*, download: bool = True) -> Path:
    """The cached `bfcl-eval` wheel; fetched with `pip download --no-deps` when missing."""
    folder = cache_dir()
    found = sorted(folder.glob(WHEEL_GLOB))
    if found:
        return found[-1]
    if not download:
        raise BfclDataError(f"no {WHEEL_GLOB} in {folder}: run `pip download "
                            f"{WHEEL_REQUIREMENT} --no-deps -d {folder}`")
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", WHEEL_REQUIREMENT, "--no-deps",
               "--only-binary=:all:", "-d", str(folder), "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True)
    found = sorted(folder.glob(WHEEL_GLOB))
    if done.returncode != 0 or not found:
        raise BfclDataError(f"could not download {WHEEL_REQUIREMENT} into {folder} "
                            f"({' '.join(command)}): {done.stderr.strip()[-400:]}; fetch it "
                            f"by hand the same way, or set STEPVOX_BFCL_DIR to a folder "
                            f"holding the wheel")
    return found[-1]


class _Source:
    """Reads files of the BFCL data from a wheel, an unpacked wheel, or an excerpt folder."""

    def __init__(self, source: Path | None) -> None:
        self.path = Path(source) if source is not None else wheel_path()
        self.zip = zipfile.ZipFile(self.path) if self.path.is_file() else None
        self.excerpts = self.zip is None and any(self.path.glob("*.first3.jsonl"))

    def _candidates(self, category: str, answers: bool) -> list[str]:
        name = f"BFCL_v4_{category}"
        if self.excerpts:
            return [f"possible_answer.{name}.first3.jsonl" if answers else f"{name}.first3.jsonl"]
        if answers:
            return [f"{DATA_PREFIX}possible_answer/{name}.json",
                    f"{DATA_PREFIX}unused_datasets/possible_answer/{name}.json"]
        return [f"{DATA_PREFIX}{name}.json", f"{DATA_PREFIX}unused_datasets/question/{name}.json"]

    def read(self, category: str, *, answers: bool) -> str | None:
        for member in self._candidates(category, answers):
            if self.zip is not None:
                if member in self.zip.namelist():
                    return self.zip.read(member).decode("utf-8")
            else:
                for path in (self.path / member, self.path / member.removeprefix(DATA_PREFIX)):
                    if path.is_file():
                        return path.read_text(encoding="utf-8")
        return None

    def categories(self) -> list[str]:
        if self.zip is not None:
            names = self.zip.namelist()
        else:
            names = [str(p.relative_to(self.path)) for p in self.path.rglob("*.json*")]
        found = set()
        for name in names:
            base = name.rsplit("/", 1)[-1]
            if "possible_answer" in name or not base.startswith("BFCL_v4_"):
                continue
            category = base.removeprefix("BFCL_v4_").split(".")[0]
            if category != "format_sensitivity":  # a list of ids, not entries
                found.add(category)
        return sorted(found)


def _json_lines(text: str, where: str) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise BfclDataError(f"{where} line {number} is not JSON: {exc}") from exc
    return rows


def categories(source: Path | None = None) -> list[str]:
    """Every category with entries in the source (default: the cached wheel)."""
    return _Source(source).categories()


def load_category(name: str, source: Path | None = None) -> list[BfclCase]:
    """Every entry of category `name` (e.g. "simple_python", "live_multiple", "exec_parallel")
    in file order, with its possible answer where the category has an answer file."""
    src = _Source(source)
    questions = src.read(name, answers=False)
    if questions is None:
        raise BfclDataError(f"no BFCL category {name!r} in {src.path}; known: "
                            f"{', '.join(src.categories())}")
    rows = _json_lines(questions, f"{name} questions")
    answer_text = src.read(name, answers=True)
    answers = ({a["id"]: a["ground_truth"] for a in _json_lines(answer_text, f"{name} answers")}
               if answer_text is not None else {})
    cases = []
    for row in rows:
        turns = row.get("question") or []
        messages = [m for turn in turns for m in (turn if isinstance(turn, list) else [turn])]
        functions = list(row.get("function") or [])
        truth = answers.get(row["id"])
        if truth is not None and name.startswith("exec_"):
            truth = [exec_call_to_ast(call, functions) for call in truth]
        cases.append(BfclCase(id=row["id"], category=name, question=messages,
                              functions=functions, possible_answer=truth))
    return cases


def sample(cases: list[BfclCase], n: int | None, seed: int = 0) -> list[BfclCase]:
    """A seeded random `n` of `cases` in their original order (all of them when n is None or
    not smaller). The same (cases, n, seed) always gives the same subset."""
    if n is None or n >= len(cases):
        return list(cases)
    keep = set(random.Random(f"bfcl-{seed}").sample(range(len(cases)), n))
    return [case for i, case in enumerate(cases) if i in keep]


# --- executable answers -> AST possible answers ---------------------------------------------

_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
               ast.Div: operator.truediv, ast.Pow: operator.pow, ast.FloorDiv: operator.floordiv,
               ast.Mod: operator.mod}


def _value(node: ast.AST) -> Any:
    """A literal, or plain arithmetic on numbers (`1/6`, `500 * 500`)."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        pass
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        return _ARITHMETIC[type(node.op)](_value(node.left), _value(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_value(node.operand)
    raise BfclDataError(f"cannot read the value {ast.unparse(node)!r}")


def _as_spec_type(value: Any, spec: dict[str, Any]) -> Any:
    """An integer for a float parameter (or float items) made a float; tuples made lists."""
    if spec.get("type") == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if spec.get("type") in ("array", "tuple") and isinstance(value, (list, tuple)):
        return [_as_spec_type(v, spec.get("items") or {}) for v in value]
    return value


def exec_call_to_ast(call: str, functions: list[dict[str, Any]]) -> dict[str, dict[str, list]]:
    """`f(a=1, b=[2])` -> `{"f": {"a": [1], "b": [[2]], <optional>: ["", default?]}}`."""
    node = ast.parse(call.strip(), mode="eval").body
    if not isinstance(node, ast.Call):
        raise BfclDataError(f"not a call: {call!r}")
    name = ast.unparse(node.func)
    spec = next((f for f in functions if f["name"] == name), None)
    properties = ((spec or {}).get("parameters") or {}).get("properties") or {}
    order = list(properties)
    given: dict[str, Any] = {}
    for index, arg in enumerate(node.args):
        if index >= len(order):
            raise BfclDataError(f"{call!r}: more positional arguments than {name} has")
        given[order[index]] = _value(arg)
    for keyword in node.keywords:
        given[keyword.arg] = _value(keyword.value)
    # An argument the spec does not have (a slip in the data: exec_multiple_45) is left out.
    options: dict[str, list] = {k: [_as_spec_type(v, properties.get(k, {}))]
                                for k, v in given.items() if spec is None or k in properties}
    for param, pspec in properties.items():
        if param not in options:
            options[param] = [""] + ([pspec["default"]] if "default" in pspec else [])
    return {name: options}
