"""The BFCL bench's own parts, without models: the AST scorer (bench/bfcl_ast.py) on the BFCL
excerpts in ../shared/testdata (skipped when absent), the bare model's tolerant call parser
(bench/bfcl_bare.py) on handwritten outputs, and the loader (bench/bfcl_data.py)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bfcl_ast import Verdict, normalise, score, score_case  # noqa: E402
from bench.bfcl_bare import openai_tools, parse_bare_calls  # noqa: E402
from bench.bfcl_data import (  # noqa: E402
    REPORTED, BfclCase, exec_call_to_ast, load_category, sample, scoring_kind,
)

EXCERPTS = ROOT.parent / "shared" / "testdata" / "tools" / "bfcl"
CALL_CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple")


def _excerpt(category: str) -> list[BfclCase]:
    if not EXCERPTS.is_dir():
        pytest.skip(f"BFCL excerpts not found at {EXCERPTS} (they live in ../shared/testdata)")
    return load_category(category, EXCERPTS)


def _first_accepted(options: list):
    """The first accepted value that is not "" (a dict answer: its keys' first values)."""
    value = next(v for v in options if v != "")
    if isinstance(value, dict):
        return {k: _first_accepted(v) for k, v in value.items() if any(x != "" for x in v)}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [{k: _first_accepted(v) for k, v in d.items() if any(x != "" for x in v)}
                for d in value]
    return value


def _answer_calls(case: BfclCase) -> list[dict]:
    """The calls the possible answer describes, each parameter at its first accepted value
    (parameters that may only be omitted are left out)."""
    calls = []
    for answer in case.possible_answer:
        (name, params), = answer.items()
        calls.append({"name": name, "arguments": {
            k: _first_accepted(v) for k, v in params.items() if any(x != "" for x in v)}})
    return calls


# --- the scorer ------------------------------------------------------------------------------

@pytest.mark.parametrize("category", CALL_CATEGORIES)
def test_the_possible_answers_themselves_score_correct(category):
    cases = _excerpt(category)
    assert cases
    for case in cases:
        verdict = score_case(case, _answer_calls(case))
        assert verdict.correct, (case.id, verdict.reason)


def test_api_safe_names_and_reordered_parallel_calls_score_correct():
    case = _excerpt("parallel")[0]
    calls = list(reversed(_answer_calls(case)))
    assert score_case(case, calls).correct
    simple = next(c for c in _excerpt("simple_python") if "." in next(iter(c.possible_answer[0])))
    calls = _answer_calls(simple)
    calls[0]["name"] = calls[0]["name"].replace(".", "_")  # math.factorial -> math_factorial
    assert score_case(simple, calls).correct


def test_a_wrong_value_scores_wrong():
    case = _excerpt("simple_python")[0]  # calculate_triangle_area(base=10, height=5)
    calls = _answer_calls(case)
    calls[0]["arguments"]["base"] = 11
    verdict = score_case(case, calls)
    assert not verdict.correct and verdict.kind == "wrong value"


def test_a_missing_required_parameter_scores_wrong():
    case = _excerpt("simple_python")[0]
    calls = _answer_calls(case)
    del calls[0]["arguments"]["height"]
    verdict = score_case(case, calls)
    assert not verdict.correct and verdict.kind == "missing required parameter"


def test_an_extra_parameter_scores_wrong():
    case = _excerpt("simple_python")[0]
    calls = _answer_calls(case)
    calls[0]["arguments"]["colour"] = "red"
    verdict = score_case(case, calls)
    assert not verdict.correct and verdict.kind == "unexpected parameter"


def test_a_wrong_function_name_scores_wrong():
    case = _excerpt("multiple")[0]
    calls = _answer_calls(case)
    other = next(f["name"] for f in case.functions if f["name"] != calls[0]["name"])
    calls[0]["name"] = other
    verdict = score_case(case, calls)
    assert not verdict.correct and verdict.kind == "wrong function"


def test_a_wrong_count_in_parallel_scores_wrong():
    case = _excerpt("parallel")[0]
    calls = _answer_calls(case)
    assert len(calls) >= 2
    for wrong in (calls[:-1], calls + [copy.deepcopy(calls[0])]):
        verdict = score_case(case, wrong)
        assert not verdict.correct and verdict.kind == "wrong count"
    # Same count, but one call twice and another missing: no match for the missing one.
    verdict = score_case(case, [calls[0], copy.deepcopy(calls[0])])
    assert not verdict.correct and "matches no remaining call" in verdict.reason


def test_no_call_on_a_call_category_scores_wrong():
    case = _excerpt("simple_python")[0]
    assert score_case(case, []) == Verdict(False, "no call")


def test_irrelevance_is_right_only_without_a_call():
    for case in _excerpt("irrelevance"):
        assert case.possible_answer is None
        assert score_case(case, []).correct
        called = [{"name": case.functions[0]["name"], "arguments": {}}]
        assert not score_case(case, called).correct
    assert score("relevance", [], [{"name": "f", "arguments": {}}], None).correct
    assert not score("relevance", [], [], None).correct


def test_types_follow_bfcl():
    spec = {"name": "f", "parameters": {"type": "dict", "required": ["x"], "properties": {
        "x": {"type": "float"}, "n": {"type": "integer"}, "xs": {"type": "tuple",
                                                                  "items": {"type": "integer"}},
        "unit": {"type": "string"}}}}
    answer = [{"f": {"x": [2.0], "n": ["", 3], "xs": ["", [1, 2]], "unit": ["", "km/h"]}}]

    def verdict(arguments):
        return score("simple", [spec], [{"name": "f", "arguments": arguments}], answer)

    assert verdict({"x": 2}).correct  # an int for a float
    assert verdict({"x": 2.0, "n": 3, "xs": [1, 2], "unit": "KM H"}).correct  # normalised string
    assert verdict({"x": 2.0, "xs": (1, 2)}).correct  # a tuple for a tuple
    assert verdict({"x": 2.0, "n": 3.0}).kind == "wrong type"  # a float for an int
    assert verdict({"x": 2.0, "n": True}).kind == "wrong type"  # bool is not int
    assert verdict({"x": "2"}).kind == "wrong type"
    assert not verdict({"x": 2.0, "xs": ["1", "2"]}).correct  # strings for integer items
    items = [{"f": {"x": [2.0], "xs": [[1, 2]]}}]
    assert score("simple", [spec], [{"name": "f", "arguments": {"x": 2.0, "xs": ["1", "2"]}}],
                 items).kind == "wrong type"
    assert verdict({"x": 2.0, "xs": [2, 1]}).kind == "wrong value"  # lists keep their order
    required = [{"f": {"x": [2.0], "unit": ["km/h"]}}]  # an answer without "" needs the param
    assert score("simple", [spec], [{"name": "f", "arguments": {"x": 2.0}}],
                 required).kind == "missing parameter"


def test_dict_values_match_key_by_key():
    spec = {"name": "g", "parameters": {"type": "dict", "required": ["q"], "properties": {
        "q": {"type": "dict", "properties": {}}}}}
    answer = [{"g": {"q": [{"city": ["New York", "NYC"], "when": ["", "today"]}]}}]

    def verdict(value):
        return score("simple", [spec], [{"name": "g", "arguments": {"q": value}}], answer)

    assert verdict({"city": "nyc"}).correct
    assert verdict({"city": "new york", "when": "Today"}).correct
    assert verdict({"city": "Boston"}).kind == "wrong value"
    assert verdict({"city": "NYC", "extra": 1}).kind == "wrong value"
    assert verdict({"when": "today"}).kind == "wrong value"  # city may not be left out


def test_normalise_follows_bfcl():
    assert normalise("April 1, 2024") == normalise("april 1 2024") == "april12024"
    assert normalise("it's") == 'it"s'


# --- the loader ------------------------------------------------------------------------------

def test_loader_reads_the_excerpts():
    for category in (*REPORTED, "multi_turn_base", "web_search"):
        cases = _excerpt(category)
        assert len(cases) == 3, category
        for case in cases:
            assert case.category == category and case.id.startswith(category)
            assert case.user_text
            if category in CALL_CATEGORIES:
                assert case.functions and case.possible_answer
                names = {f["name"] for f in case.functions}
                assert all(next(iter(a)) in names for a in case.possible_answer)
    assert _excerpt("irrelevance")[0].possible_answer is None


def test_scoring_kinds_and_sampling():
    assert [scoring_kind(c) for c in REPORTED] == [
        "simple", "multiple", "parallel", "parallel", "irrelevance"]
    assert scoring_kind("live_relevance") == "relevance"
    assert scoring_kind("live_irrelevance") == "irrelevance"
    assert scoring_kind("exec_parallel_multiple") == "parallel"
    cases = [BfclCase(id=f"c{i}", category="simple_python", question=[], functions=[])
             for i in range(20)]
    picked = sample(cases, 5, seed=3)
    assert [c.id for c in picked] == [c.id for c in sample(cases, 5, seed=3)]
    assert len(picked) == 5 and [c.id for c in picked] == sorted(
        (c.id for c in picked), key=lambda i: int(i[1:]))  # file order kept
    assert sample(cases, 50, seed=3) == cases


def test_exec_answers_become_ast_answers():
    functions = [{"name": "calc", "parameters": {"type": "dict", "required": ["n", "p"],
                                                 "properties": {
        "n": {"type": "integer"}, "p": {"type": "float"}, "v": {"type": "array",
                                                               "items": {"type": "float"}},
        "mode": {"type": "string", "default": "fast"}}}}]
    answer = exec_call_to_ast("calc(20, p=1/6, v=[1, 0.5])", functions)
    assert answer == {"calc": {"n": [20], "p": [1 / 6], "v": [[1.0, 0.5]],
                               "mode": ["", "fast"]}}
    case = BfclCase(id="exec_simple_x", category="exec_simple", question=[],
                    functions=functions, possible_answer=[answer])
    given = {"n": 20, "p": 1 / 6, "v": [1.0, 0.5]}
    assert score_case(case, [{"name": "calc", "arguments": given}]).correct
    assert score_case(case, [{"name": "calc", "arguments": {**given, "mode": "fast"}}]).correct
    assert score_case(case, [{"name": "calc", "arguments": {**given, "p": 0.17}}]).kind == \
        "wrong value"


# --- the bare model's tolerant parser --------------------------------------------------------

def test_bare_parser_reads_tool_call_blocks():
    text = ('<tool_call>\n{"name": "math.factorial", "arguments": {"number": 5}}\n</tool_call>\n'
            '<tool_call>\n{"name": "spotify.play", "arguments": "{\\"artist\\": \\"Maroon 5\\"}"}'
            '\n</tool_call>')
    assert parse_bare_calls(text) == [
        {"name": "math.factorial", "arguments": {"number": 5}},
        {"name": "spotify.play", "arguments": {"artist": "Maroon 5"}}]


def test_bare_parser_reads_an_unclosed_block_fences_and_bare_objects():
    assert parse_bare_calls('<tool_call>\n{"name": "f", "arguments": {"x": 1}}') == [
        {"name": "f", "arguments": {"x": 1}}]
    fenced = ('Sure!\n```json\n[{"name": "f", "arguments": {"x": 1}}, '
              '{"name": "g", "parameters": {}}]\n```')
    assert parse_bare_calls(fenced) == [{"name": "f", "arguments": {"x": 1}},
                                        {"name": "g", "arguments": {}}]
    two = ('```json\n{"name": "f", "arguments": {"x": 1}}\n```\nand\n'
           '```json\n{"name": "f", "arguments": {"x": 2}}\n```')
    assert parse_bare_calls(two) == [{"name": "f", "arguments": {"x": 1}},
                                     {"name": "f", "arguments": {"x": 2}}]
    bare = 'I will call {"name": "f", "arguments": {"x": [1, 2]}} now.'
    assert parse_bare_calls(bare) == [{"name": "f", "arguments": {"x": [1, 2]}}]
    wrapped = '{"function": {"name": "f", "arguments": "{\\"x\\": true}"}}'
    assert parse_bare_calls(wrapped) == [{"name": "f", "arguments": {"x": True}}]


def test_bare_parser_finds_nothing_in_prose_and_python_calls_of_offered_functions():
    assert parse_bare_calls("The area is 25 square units.") == []
    assert parse_bare_calls('Here is a dict: {"a": 1}') == []  # no name: not a call
    text = "You can use math.factorial(number=5) for that."
    assert parse_bare_calls(text) == []
    assert parse_bare_calls(text, function_names=["math.factorial"]) == [
        {"name": "math.factorial", "arguments": {"number": 5}}]


def test_bare_tools_are_openai_json_schema():
    tools = openai_tools([{"name": "f", "description": "d", "parameters": {
        "type": "dict", "properties": {"x": {"type": "float"}, "t": {"type": "tuple",
                                                                     "items": {"type": "any"}}},
        "required": ["x"]}}])
    assert tools == [{"type": "function", "function": {"name": "f", "description": "d",
                                                       "parameters": {
        "type": "object", "properties": {"x": {"type": "number"}, "t": {"type": "array",
                                                                       "items": {}}},
        "required": ["x"]}}}]
