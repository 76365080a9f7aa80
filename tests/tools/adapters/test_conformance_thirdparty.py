"""Conformance with third-party function-calling material in ../shared/testdata (skipped when
absent): BFCL specs and answers, NESTFUL chained calls, tau-bench schemas."""

import asyncio
import json
import re
from pathlib import Path

import pytest

from tools import ToolRegistry, parse_text_calls
from tools.calls.references import UnresolvedReferenceError, references_in, resolve_references
from tools.adapters.function_specs import api_safe_name, normalize_schema, tool_from_function_spec, tool_from_nestful_spec

SHARED = Path(__file__).resolve().parents[4] / "shared" / "testdata"
BFCL = SHARED / "tools" / "bfcl"
NESTFUL = SHARED / "tools" / "nestful"
TAU = SHARED / "customer-service" / "tau-bench"

pytestmark = pytest.mark.shared


def _needs(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"third-party test data not found at {path} (it lives in ../shared/testdata)")


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _bfcl_cases(category: str):
    _needs(BFCL)
    answers = {a["id"]: a["ground_truth"] for a in _jsonl(BFCL / f"possible_answer.BFCL_v4_{category}.first3.jsonl")}
    return [(r, answers[r["id"]]) for r in _jsonl(BFCL / f"BFCL_v4_{category}.first3.jsonl")]


def _first_choice(options: dict) -> dict:
    # BFCL lists the acceptable values of each argument; "" means "may be omitted".
    chosen = {}
    for name, values in options.items():
        value = next((v for v in values if v != ""), "")
        if value != "":
            chosen[name] = value
    return chosen


def _wrong_value(schema: dict):
    kind = schema.get("type")
    return {"integer": "seven", "number": "seven", "string": 12345, "boolean": "yes",
            "array": "not a list", "object": 3}.get(kind)


@pytest.mark.parametrize("category", ["simple_python", "multiple", "parallel", "parallel_multiple"])
async def test_bfcl_answers_validate_and_dispatch_and_mutations_are_rejected(category):
    for record, truth in _bfcl_cases(category):
        registry = ToolRegistry(tool_from_function_spec(spec) for spec in record["function"])
        calls = [(api_safe_name(name), _first_choice(options)) for item in truth for name, options in item.items()]
        # All calls of one model turn at once, as the agent dispatches them.
        results = await asyncio.gather(*(registry.invoke(name, args) for name, args in calls))
        for (name, args), result in zip(calls, results):
            assert not result.is_error, f"{record['id']} {name}: {result.content}"
            assert json.loads(result.content)["arguments"] == args

        for name, args in calls:
            tool = registry.get(name)
            schema = tool.parameters_schema
            for required in schema.get("required", []):
                missing = {k: v for k, v in args.items() if k != required}
                result = await tool.invoke(missing)
                assert result.is_error and f"argument {required!r}: missing required argument" in result.content
            for arg, value in args.items():
                wrong = _wrong_value(schema["properties"].get(arg, {}))
                if wrong is not None:
                    result = await tool.invoke({**args, arg: wrong})
                    assert result.is_error and repr(arg) in result.content, (record["id"], arg, result.content)
        unknown = await registry.invoke("made_up_function", {})
        assert unknown.is_error and "no tool named" in unknown.content.lower()


def test_bfcl_types_become_json_schema():
    schema = normalize_schema({"type": "dict", "properties": {
        "a": {"type": "float"}, "b": {"type": "tuple", "items": {"type": "any"}}, "c": {"type": "any"}}})
    assert schema == {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "array", "items": {}}, "c": {}}}


def test_bfcl_irrelevance_no_call_reply_dispatches_nothing():
    _needs(BFCL)
    for record in _jsonl(BFCL / "BFCL_v4_irrelevance.first3.jsonl"):
        known = {api_safe_name(f["name"]) for f in record["function"]}
        reply = parse_text_calls("I'm sorry, I can't do that with the tools I have.", known)
        assert reply.calls == [] and not reply.has_calls


async def test_nestful_chained_calls_resolve():
    _needs(NESTFUL)
    specs = json.loads((NESTFUL / "executable-spec.first2.json").read_text())
    data = json.loads((NESTFUL / "executable-data.first2.json").read_text())
    by_name = {s["name"]: s for s in specs}

    def fake_runner(spec, referenced):
        # Each API returns its declared output fields (and any field a later call reads),
        # derived from the inputs, so a wrong reference shows up as a wrong value downstream.
        fields = list((spec.get("output_parameters") or {}).keys()) + sorted(referenced)

        async def run(arguments):
            tag = "|".join(f"{k}={v}" for k, v in sorted(arguments.items()))
            return {f: f"{spec['name']}.{f}({tag})" for f in fields}

        return run

    assert any(step["name"] in by_name for sample in data for step in sample["output"])
    for sample in data:
        text = json.dumps(sample["output"])
        referenced = {}
        for label, field in re.findall(r"\$(\w+)\.(\w+)", text):
            referenced.setdefault(label, set()).add(field)
        results: dict = {}
        for step in sample["output"]:
            if step["name"] == "var_result":
                final = resolve_references(step["arguments"], results)
                assert all(isinstance(v, dict) for v in final.values())
                continue
            assert references_in(step["arguments"]) <= set(results)
            arguments = resolve_references(step["arguments"], results)
            # The excerpt holds only some specs; the others get an untyped stand-in.
            spec = by_name.get(step["name"]) or {
                "name": step["name"], "query_parameters": {k: {"required": True} for k in arguments}}
            # Unbounded: the fake results nest their inputs and grow past the default cap.
            tool = tool_from_nestful_spec(spec, fake_runner(spec, referenced.get(step["label"], set())),
                                          max_output_chars=None)
            run = await tool.invoke(arguments)
            assert not run.is_error, run.content
            results[step["label"]] = json.loads(run.content)
        assert any("$" in json.dumps(s["arguments"]) for s in sample["output"])


def test_references_resolve_keep_types_and_fail_clearly():
    results = {"var1": {"skyId": "LOND", "ids": [7, 8]}, "var2": 5}
    assert resolve_references({"a": "$var1.skyId$", "b": "$var1.ids[1]$", "c": "$var2$", "d": "to $var1.skyId$"},
                              results) == {"a": "LOND", "b": 8, "c": 5, "d": "to LOND"}
    assert references_in({"x": ["$var3.a$", {"y": "$var1$"}]}) == {"var1", "var3"}
    with pytest.raises(UnresolvedReferenceError, match="var9"):
        resolve_references("$var9.x$", results)
    with pytest.raises(UnresolvedReferenceError, match="nope"):
        resolve_references("$var1.nope$", results)


@pytest.mark.parametrize("domain", ["retail", "airline"])
async def test_tau_bench_schemas_register_and_validate(domain):
    _needs(TAU)
    specs = json.loads((TAU / f"{domain}_tool_schemas.json").read_text())
    registry = ToolRegistry(tool_from_function_spec(spec) for spec in specs)
    assert len(registry) == len(specs) >= 10
    for tool in registry:
        result = await tool.invoke({"definitely_not_an_argument": 1})
        assert result.is_error, tool.name
        assert tool.openai_schema()["function"]["name"] == tool.name
