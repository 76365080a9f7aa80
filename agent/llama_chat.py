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
from agent.chatml_prompt import TEXT_ONLY_GRAMMAR, render_prompt, system_block, tool_call_grammar
from agent.errors import ModelBackendError
from agent.model_errors import ModelOverrideError

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
        self._grammars: dict[tuple[str, str], Any] = {}

    def _grammar(self, tools: Sequence[dict[str, Any]], mode: str) -> Any:
        """mode: "decide" (a tool call or text), "call" (a tool call only), "text" (text that
        cannot open a call)."""
        import llama_cpp

        key = (json.dumps(list(tools), sort_keys=True), mode)
        if key not in self._grammars:  # compiling a grammar costs ~ms; tools rarely change
            gbnf = (TEXT_ONLY_GRAMMAR if mode == "text"
                    else tool_call_grammar(tools, allow_text=mode == "decide"))
            self._grammars[key] = llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False)
        return self._grammars[key]

    def _generate(self, prompt: str, tools: Sequence[dict[str, Any]], tool_choice: ToolChoice,
                  emit, stop: threading.Event) -> None:
        """Sample under a grammar only where the grammar decides something.

        llama-cpp-python checks a grammar against the whole vocabulary for every token, which
        halves decoding speed here (measured 41-47 tokens/s free, 17-24 with any grammar). So
        only the first token is sampled under the deciding grammar; a tool call is then written
        under the call-only grammar (always valid JSON for a real tool) and text runs free.
        """
        with self._lock:
            if not tools:
                self._stream(prompt, None, self.max_tokens, emit, stop)
                return
            mode = "decide" if tool_choice == "auto" else "text"
            first = self._llm.create_completion(
                prompt, max_tokens=1, temperature=self.temperature, top_p=self.top_p,
                stop=_STOP, grammar=self._grammar(tools, mode))["choices"][0]
            head = first["text"]
            if mode == "decide" and head.lstrip()[:1] in ("{", "<"):
                # Rewritten from the prompt (cached) so the whole call is under one grammar.
                self._stream(prompt, self._grammar(tools, "call"), self.max_tokens, emit, stop)
                return
            emit(("text", head, None))
            if first.get("finish_reason") == "stop" or stop.is_set():
                emit(("text", "", "stop"))
                return
            self._stream(prompt + head, None, self.max_tokens - 1, emit, stop)

    def _stream(self, prompt: str, grammar: Any, max_tokens: int, emit,
                stop: threading.Event) -> None:
        stream = self._llm.create_completion(
            prompt, max_tokens=max_tokens, temperature=self.temperature, top_p=self.top_p,
            stop=_STOP, grammar=grammar, stream=True,
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
                self._generate(prompt, tools, tool_choice, emit, stop)
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
