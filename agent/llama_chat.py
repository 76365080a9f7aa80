"""The embedded `ChatModel`: a GGUF model through llama-cpp-python, on the CPU, offline."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from agent.chat_model import (
    ChatEvent, ChatMessage, ModelDone, TextDelta, ToolCall, ToolCallEvent, ToolChoice,
)
from agent.chatml_prompt import render_prompt, system_block, tool_call_grammar
from agent.errors import ModelBackendError
from agent.model_errors import ModelOverrideError
from agent.tool_routing import call_probability, call_start_tokens

_END = object()
_STOP = ["<|im_end|>", "<|endoftext|>"]


class LlamaCppChatModel:
    """Qwen2.5-style ChatML over llama.cpp, with grammar-constrained tool calls.

    One model instance serves one generation at a time (llama.cpp contexts are not
    thread-safe); concurrent callers queue on a lock. The KV cache keeps the longest common
    token prefix between calls, so a fixed system + tools prefix is evaluated once.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        temperature: float = 0.3,
        top_p: float = 0.9,
        max_tokens: int = 160,
        seed: int = 7,
        tool_call_threshold: float = 0.88,
    ) -> None:
        import llama_cpp

        path = Path(model_path)
        if str(model_path).startswith("hf:"):
            repo, _, filename = str(model_path)[3:].rpartition("/")
            self._llm = llama_cpp.Llama.from_pretrained(
                repo, filename, n_ctx=n_ctx, n_threads=n_threads or os.cpu_count(),
                seed=seed, verbose=False,
            )
        else:
            if not path.is_file():
                raise ModelOverrideError(f"LLM file {path} does not exist")
            self._llm = llama_cpp.Llama(
                str(path), n_ctx=n_ctx, n_threads=n_threads or os.cpu_count(), seed=seed,
                verbose=False,
            )
        self.name = f"llama.cpp:{path.name}"
        self.temperature = temperature
        self.top_p = top_p
        self.max_tokens = max_tokens
        self._lock = threading.Lock()
        # Calibrated for the packaged Qwen2.5-Coder-0.5B on 10 clock questions and 12 others
        # (bench/tool_trigger.py): every clock question scored >= 0.89.
        self.tool_call_threshold = tool_call_threshold
        self._grammars: dict[str, Any] = {}
        self._call_starts: list[int] | None = None
        self._model_path = self._llm.model_path  # also right for a downloaded hf: model
        self._threads = n_threads or os.cpu_count()
        self._router_llm: Any = None

    def _call_grammar(self, tools: Sequence[dict[str, Any]]) -> Any:
        import llama_cpp

        key = json.dumps(list(tools), sort_keys=True)
        if key not in self._grammars:  # compiling a grammar costs ~ms; tools rarely change
            self._grammars[key] = llama_cpp.LlamaGrammar.from_string(
                tool_call_grammar(tools), verbose=False)
        return self._grammars[key]

    def _call_tokens(self) -> list[int]:
        if self._call_starts is None:
            self._call_starts = call_start_tokens(self._llm)
        return self._call_starts

    def _router(self) -> Any:
        """A second context over the same (memory-mapped) weights for history-free scores."""
        if self._router_llm is None:
            import llama_cpp

            self._router_llm = llama_cpp.Llama(self._model_path, n_ctx=1024,
                                               n_threads=self._threads, verbose=False)
        return self._router_llm

    def wants_tool_call(self, messages: Sequence[ChatMessage],
                        tools: Sequence[dict[str, Any]], prompt: str) -> bool:
        if call_probability(self._llm, prompt, self._call_tokens()) >= self.tool_call_threshold:
            return True
        if len(messages) < 3 or messages[-1].role != "user":
            return False  # no history to discount, or an answer after a tool result is due
        alone = render_prompt([messages[0], messages[-1]], tools)
        return call_probability(self._router(), alone, self._call_tokens()) \
            >= self.tool_call_threshold

    def _generate(self, messages: Sequence[ChatMessage], prompt: str,
                  tools: Sequence[dict[str, Any]], tool_choice: ToolChoice,
                  emit, stop: threading.Event) -> None:
        """Decide "tool call or text" once, from the first-token distribution, then generate.

        The decision is `wants_tool_call` (see `agent.tool_routing` for why it thresholds the
        first-token odds instead of sampling). A call is then written under the call-only
        grammar (always valid JSON for a real tool); text is
        generated without a grammar (llama-cpp-python checks a grammar against the whole
        vocabulary per token, which halves decoding speed) but with the call-opening tokens
        banned, so text can never turn into a call.
        """
        with self._lock:
            if tools and tool_choice == "auto" and self.wants_tool_call(messages, tools, prompt):
                self._stream(prompt, emit, stop, grammar=self._call_grammar(tools))
                return
            ban = {i: -100.0 for i in self._call_tokens()} if tools else None
            self._stream(prompt, emit, stop, logit_bias=ban)

    def _stream(self, prompt: str, emit, stop: threading.Event, *, grammar: Any = None,
                logit_bias: dict[int, float] | None = None) -> None:
        stream = self._llm.create_completion(
            prompt, max_tokens=self.max_tokens, temperature=self.temperature, top_p=self.top_p,
            stop=_STOP, grammar=grammar, logit_bias=logit_bias, stream=True,
        )
        try:
            for chunk in stream:
                choice = chunk["choices"][0]
                emit(("text", choice["text"], choice.get("finish_reason")))
                if stop.is_set():
                    break
        finally:
            stream.close()

    async def prefill(self, system_prompt: str, tools: Sequence[dict[str, Any]] = ()) -> None:
        """Evaluate the fixed system + tools prefix now, so the first turn starts warm (a cold
        ~350-token prefix costs ~2.5 s on two cores; a warm one ~0.1 s)."""
        prefix = system_block(system_prompt, tools)

        def run() -> None:
            with self._lock:
                self._llm.create_completion(prefix, max_tokens=1, temperature=0.0)
                if tools:
                    self._router().create_completion(prefix, max_tokens=1, temperature=0.0)
                    self._call_tokens()

        await asyncio.to_thread(run)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[dict[str, Any]] = (),
        *,
        tool_choice: ToolChoice = "auto",
    ) -> AsyncIterator[ChatEvent]:
        prompt = render_prompt(messages, tools)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        stop = threading.Event()

        def emit(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def run() -> None:
            try:
                self._generate(messages, prompt, tools, tool_choice, emit, stop)
            except Exception as exc:  # surfaced to the consumer as a named error
                emit(("error", exc, None))
            finally:
                emit(_END)

        worker = loop.run_in_executor(None, run)
        buffered: list[str] = []
        is_call: bool | None = None
        finish = "stop"
        try:
            while (item := await queue.get()) is not _END:
                kind, value, reason = item
                if kind == "error":
                    raise ModelBackendError(f"llama.cpp generation failed: {value}") from value
                finish = reason or finish
                if is_call is None and value.strip():
                    # The grammar's text branch can never start with "{" or "<", so the first
                    # character decides, however the tokens split "<tool_call>".
                    is_call = value.lstrip()[0] in "{<"
                if is_call:
                    buffered.append(value)
                elif value:
                    yield TextDelta(value)
            if is_call:
                yield ToolCallEvent(parse_call("".join(buffered)))
            yield ModelDone(finish_reason=finish)
        finally:
            stop.set()  # a consumer that stopped early (barge-in) stops the generation
            await asyncio.shield(worker)


def parse_call(text: str) -> ToolCall:
    """The grammar guarantees the shape; strip the optional <tool_call> wrapper and parse."""
    body = text.strip().removeprefix("<tool_call>").removesuffix("</tool_call>").strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:  # only when max_tokens cut the call short
        raise ModelBackendError(f"the model's tool call was cut off: {body[:200]!r}") from exc
    return ToolCall(name=data["name"], arguments=data.get("arguments") or {})
