"""The bare-model baseline of the BFCL bench: the same GGUF, no framework.

The GGUF file the profile loads is opened in `llama_cpp.Llama` directly. The prompt is the
GGUF's own chat template (`tokenizer.chat_template` in its metadata) rendered with jinja2,
given `messages` (the request as the one user message, no system message: the template's
own default system prompt, if it has one, applies) and `tools` (the entry's functions in
OpenAI format, BFCL type names mapped to JSON Schema), with `add_generation_prompt=True`.
Decoding is greedy (temperature 0), at most 256 new tokens. The reply is then read by a
tolerant parser (`parse_bare_calls`): every `<tool_call>{json}</tool_call>` block (an unclosed
last one too); failing those, JSON in every ```json fence; failing those, bare JSON objects with a
`name` and `arguments` (or `parameters`); failing those, Python-style calls of an offered
function (`math.factorial(number=5)`). `arguments` may be a JSON string. Nothing from the
stepvox framework is used here but the path of the GGUF file.
"""

from __future__ import annotations

import ast
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

MAX_TOKENS = 256

_JSON_TYPES = {"dict": "object", "float": "number", "tuple": "array", "int": "integer",
               "str": "string", "bool": "boolean", "list": "array"}


def _json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, str):
            if value != "any":  # "any": no type constraint
                out[key] = _JSON_TYPES.get(value, value)
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _json_schema(sub) for name, sub in value.items()}
        else:
            out[key] = _json_schema(value)
    return out


def openai_tools(functions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """BFCL function specs as OpenAI `tools` (names kept as BFCL writes them)."""
    return [{"type": "function", "function": {
        "name": f["name"], "description": f.get("description", ""),
        "parameters": _json_schema(f.get("parameters") or {"type": "object", "properties": {}})}}
        for f in functions]


# --- the tolerant parser ---------------------------------------------------------------------

_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.S)
_FENCE = re.compile(r"```(?:json|JSON|tool_call)?\s*\n?(.*?)(?:```|$)", re.S)


def _loads(text: str) -> Any:
    """JSON, else a Python literal with JSON's true/false/null (single quotes and all)."""
    text = text.strip()
    try:
        return json.loads(text)
    except (json.JSONDecodeError, ValueError):
        pass
    try:
        pythonic = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False",
                                                      re.sub(r"\bnull\b", "None", text)))
        return ast.literal_eval(pythonic)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _objects_in(text: str) -> list[Any]:
    """Every top-level JSON value (object or array) found scanning `text` left to right."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while True:
        starts = [i for i in (text.find("{", at), text.find("[", at)) if i >= 0]
        if not starts:
            return found
        start = min(starts)
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            at = start + 1
            continue
        found.append(value)
        at = end


def _as_calls(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [c for item in value for c in _as_calls(item)]
    if not isinstance(value, dict):
        return []
    if isinstance(value.get("tool_calls"), list):
        return _as_calls(value["tool_calls"])
    if isinstance(value.get("function"), dict):
        return _as_calls(value["function"])
    name = value.get("name")
    if not isinstance(name, str) or not name:
        return []
    if "arguments" in value:
        arguments = value["arguments"]
    elif "parameters" in value:
        arguments = value["parameters"]
    else:
        return []
    if isinstance(arguments, str):
        arguments = _loads(arguments) if arguments.strip() else {}
    if arguments is None:
        arguments = {}
    return [{"name": name, "arguments": arguments}]


def _python_calls(text: str, function_names: list[str]) -> list[dict[str, Any]]:
    calls = []
    for name in sorted(set(function_names), key=len, reverse=True):
        for match in re.finditer(re.escape(name) + r"\s*\(", text):
            if match.start() > 0 and (text[match.start() - 1].isalnum()
                                      or text[match.start() - 1] in "._"):
                continue
            # the shortest closing that parses as a call
            for end in range(match.end(), len(text) + 1):
                if text[end - 1:end] != ")":
                    continue
                try:
                    node = ast.parse(text[match.start():end].strip(), mode="eval").body
                except SyntaxError:
                    continue
                if isinstance(node, ast.Call) and not node.args:
                    try:
                        arguments = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
                    except ValueError:
                        break
                    calls.append((match.start(), {"name": name, "arguments": arguments}))
                break
    return [call for _, call in sorted(calls, key=lambda c: c[0])]


def parse_bare_calls(text: str, function_names: list[str] | None = None) -> list[dict[str, Any]]:
    """The calls in a bare model's reply, read as tolerantly as is reasonable (see the
    module docstring): `[{"name": ..., "arguments": {...}}]`, in order; [] for prose."""
    blocks = _BLOCK.findall(text)
    if blocks:
        calls = []
        for block in blocks:
            value = _loads(block)
            calls.extend(_as_calls(value) if value is not None else
                         [c for v in _objects_in(block) for c in _as_calls(v)])
        if calls:
            return calls
    calls = []
    for fence in _FENCE.findall(text):  # every fence: one call per fence is common
        value = _loads(fence)
        calls.extend(_as_calls(value) if value is not None else [
            c for v in _objects_in(fence) for c in _as_calls(v)])
    if calls:
        return calls
    calls = [c for v in _objects_in(text) for c in _as_calls(v)]
    if calls:
        return calls
    return _python_calls(text, function_names or [])


# --- the model -------------------------------------------------------------------------------

@dataclass
class BareAnswer:
    text: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    first_token_ms: float | None = None
    total_ms: float = 0.0
    prompt_tokens: int = 0
    error: str | None = None


class BareModel:
    """A GGUF in llama.cpp with its own chat template and greedy decoding."""

    def __init__(self, gguf_path: str, *, n_threads: int | None = None, n_ctx: int = 4096,
                 max_tokens: int = MAX_TOKENS) -> None:
        import llama_cpp
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        self.path = str(gguf_path)
        self.llm = llama_cpp.Llama(self.path, n_ctx=n_ctx, n_threads=n_threads, seed=0,
                                   verbose=False)
        self.max_tokens = max_tokens
        metadata = self.llm.metadata or {}
        source = metadata.get("tokenizer.chat_template")
        if not source:
            raise RuntimeError(f"{self.path} has no tokenizer.chat_template in its metadata")
        self.template_source = source

        def raise_exception(message: str) -> None:
            raise RuntimeError(message)

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = raise_exception
        self.template = env.from_string(source)
        vocab_text = lambda token: self.llm.detokenize([token], special=True).decode(  # noqa: E731
            "utf-8", errors="ignore") if token >= 0 else ""
        self.eos = vocab_text(self.llm.token_eos())
        self.bos = vocab_text(self.llm.token_bos())
        self.stop = [s for s in {self.eos, "<|im_end|>", "<|endoftext|>"} if s]

    def render(self, user_text: str, functions: list[dict[str, Any]]) -> str:
        return self.template.render(
            messages=[{"role": "user", "content": user_text}], tools=openai_tools(functions),
            add_generation_prompt=True, bos_token=self.bos, eos_token=self.eos)

    def ask(self, user_text: str, functions: list[dict[str, Any]]) -> BareAnswer:
        prompt = self.render(user_text, functions)
        tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        answer = BareAnswer(text="", prompt_tokens=len(tokens))
        if len(tokens) + self.max_tokens > self.llm.n_ctx():
            answer.error = f"prompt of {len(tokens)} tokens does not fit n_ctx {self.llm.n_ctx()}"
            return answer
        pieces = []
        started = time.perf_counter()
        for chunk in self.llm.create_completion(tokens, max_tokens=self.max_tokens,
                                                temperature=0.0, top_k=1, top_p=1.0,
                                                repeat_penalty=1.0, stop=self.stop,
                                                stream=True):
            if answer.first_token_ms is None:
                answer.first_token_ms = (time.perf_counter() - started) * 1000
            pieces.append(chunk["choices"][0]["text"])
        answer.total_ms = (time.perf_counter() - started) * 1000
        answer.text = "".join(pieces)
        answer.calls = parse_bare_calls(answer.text, [f["name"] for f in functions])
        return answer
