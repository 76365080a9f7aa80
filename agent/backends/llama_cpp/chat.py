"""The embedded `ChatModel`: a GGUF model through llama-cpp-python, on the CPU, offline."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from agent.chat_model import (
    ChatEvent, ChatMessage, ModelDone, TextDelta, ToolCallEvent, ToolCallPending,
    ToolChoice, TurnEndEstimate,
)
from agent.backends.llama_cpp.answer_opening import answer_processor, digit_tokens
from agent.tool_choice.decision import (
    CallDecider, CallFeatures, ToolChooser, fitted_for,
)
from agent.backends.llama_cpp.chatml_prompt import (
    arguments_grammar, call_head, render_turn_prompt, system_block, turn_head,
)
from agent.errors import ModelBackendError
from agent.backends.llama_cpp.call_readings import CallReadings
from agent.backends.llama_cpp.calls import forced_tool, ground_call, parse_call
from agent.backends.llama_cpp.more_calls import FurtherCalls
from agent.backends.llama_cpp.batch import enable_side_sequence, evaluate
from agent.backends.llama_cpp.parked_prompt import common_prefix, make_way
from agent.backends.llama_cpp.thread import in_llama_thread
from agent.models.errors import ModelOverrideError
from agent.backends.llama_cpp.prompt_fitting import check_fits, fit_to_context
from agent.tool_choice.prior import ToolPrior, default_tool_prior
from agent.backends.llama_cpp.turn_end_odds import turn_end_tokens
from agent.backends.llama_cpp.tool_routing import call_start_tokens, code_fence_tokens

_END = object()
_STOP = ["<|im_end|>", "<|endoftext|>"]
_DEFAULT = object()
# Cells kept free for the latest message scored alone (a spoken turn: ~100 tokens at most).
_SIDE_ROOM = 160


class LlamaCppChatModel(CallReadings, FurtherCalls):
    """Qwen2.5-style ChatML over llama.cpp, with grammar-constrained tool calls.

    One model instance serves one generation at a time (llama.cpp contexts are not
    thread-safe); concurrent callers queue on a lock. The KV cache keeps the longest common
    token prefix between calls, so a fixed system + tools prefix is evaluated once.
    """

    supports_forced_calls = True  # tool_choice="call:NAME" (agent.honesty.replies uses it)

    def __init__(
        self,
        model_path: str | Path,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        temperature: float = 0.0,
        top_p: float = 0.9,
        max_tokens: int = 160,
        seed: int = 7,
        tool_call_threshold: float = 0.88,
        tool_prior: ToolPrior | None | object = _DEFAULT,
        call_decider: CallDecider | None = None,
        tool_chooser: ToolChooser | None = None,
        estimate_turn_end: bool = True,
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
        # Sequence 1 scores the latest message without history in the same batch as the
        # turn itself (agent.backends.llama_cpp.batch); without it, a second context does, in its own pass.
        self._side_sequence = enable_side_sequence(self._llm)
        # With the sequences a second prompt parks the first one (parked_prompt), not evicts it.
        self.answers_from_another_prompt = self._side_sequence
        self.name = f"llama.cpp:{path.name}"
        self.temperature = temperature
        self.top_p = top_p
        self.max_tokens = max_tokens
        self._lock = threading.Lock()
        # Answering after a tool result: a further call only when the model's own odds clear
        # this (the call decision below is for user turns).
        self.tool_call_threshold = tool_call_threshold
        # None: the decision fitted for this model file (agent.tool_choice.decision.FITTED_BY_MODEL).
        fitted_decider, fitted_chooser = fitted_for(Path(self._llm.model_path).name)
        self.call_decider = call_decider or fitted_decider
        self.tool_chooser = tool_chooser or fitted_chooser
        # The MiniLM prior loads on first use (prefill does it up front); None = odds only.
        self._prior: Any = tool_prior
        self._last_features: CallFeatures | None = None
        self._last_vetoed = False  # the latest turn asked for nothing (asks_nothing.py)
        self._last_names: dict[str, float] = {}  # the model's odds per tool name, last call
        self._grammars: dict[str, Any] = {}
        self._call_starts: list[int] | None = None
        self._banned: dict[int, float] | None = None
        self._digit_ids: list[int] | None = None
        # Each user turn's stream opens with a TurnEndEstimate (agent.backends.llama_cpp.turn_end_odds).
        self.estimate_turn_end = estimate_turn_end
        self._end_tokens: list[int] | None = None
        self._model_path = self._llm.model_path  # also right for a downloaded hf: model
        self._threads = n_threads or os.cpu_count()
        self._router_llm: Any = None
        self._lengths: dict[str, int] = {}

    def _arguments_grammar(self, tool: dict[str, Any]) -> Any:
        import llama_cpp

        key = json.dumps(tool, sort_keys=True)
        if key not in self._grammars:  # compiling a grammar costs ~ms; tools rarely change
            self._grammars[key] = llama_cpp.LlamaGrammar.from_string(
                arguments_grammar(tool), verbose=False)
        return self._grammars[key]

    def with_temperature(self, temperature: float) -> "LlamaCppChatModel":
        """The same loaded model sampling at `temperature` (a view sharing weights, context
        and lock: a simulated caller varies while the agent under test decodes greedily)."""
        view = copy.copy(self)
        view.temperature = temperature
        return view

    def tool_prior(self) -> ToolPrior | None:
        if self._prior is _DEFAULT:
            self._prior = default_tool_prior()
        return self._prior  # type: ignore[return-value]

    def _call_tokens(self) -> list[int]:
        if self._call_starts is None:
            self._call_starts = call_start_tokens(self._llm)
        return self._call_starts

    def _text_ban(self) -> dict[int, float]:
        """Logit bias for text replies when tools are offered: no call openers, no fences."""
        if self._banned is None:
            banned = {*self._call_tokens(), *code_fence_tokens(self._llm)}
            self._banned = {i: -100.0 for i in sorted(banned)}
            self._digits()  # another pass over the vocabulary, done when this one is (prefill)
        return self._banned

    def _digits(self) -> list[int]:
        if self._digit_ids is None:
            self._digit_ids = digit_tokens(self._llm)
        return self._digit_ids

    def _turn_end_tokens(self) -> list[int]:
        if self._end_tokens is None:
            self._end_tokens = turn_end_tokens(self._llm)
        return self._end_tokens

    def _token_count(self, text: str) -> int:
        """Tokens in a fixed prompt part (system block, turn opening), counted once: the
        same ~350-token text comes back every turn, and on the turn's path."""
        if (n := self._lengths.get(text)) is None:
            if len(self._lengths) >= 16:  # personas and tool sets in use, not history
                self._lengths.clear()
            n = self._lengths[text] = len(self._llm.tokenize(text.encode("utf-8"),
                                                             special=True))
        return n

    def _fit(self, messages: Sequence[ChatMessage], tools: Sequence[dict[str, Any]],
             spare: int = 0) -> list[ChatMessage]:
        """`messages` fitted with room for the reply (`max_tokens`) and `spare` tokens."""
        return fit_to_context(self._llm, messages, tools, self.max_tokens + spare)

    def check_prompt_fits(self, system_prompt: str, tools: Sequence[dict[str, Any]],
                          who: str) -> None:
        """Raise `PromptTooLongError` now if this system prompt leaves no room for a turn."""
        check_fits(self._token_count(system_block(system_prompt, tools)),
                   self._llm.n_ctx() - self.max_tokens, f"{who} on {self.name}")

    def _generate(self, messages: Sequence[ChatMessage], prompt: str,
                  tools: Sequence[dict[str, Any]], tool_choice: ToolChoice | str,
                  emit, stop: threading.Event, pace, answer: str | None = None) -> None:
        """Decide "tool call or text" once, before generating anything, then generate.

        The decision is `wants_tool_call` (see `agent.tool_choice.decision` for why it reads the
        first-token odds and a semantic prior instead of sampling). For a call the tool is
        chosen next, its opening `{"name": ..., "arguments": ` is written into the prompt,
        and only the arguments are generated, under that tool's schema grammar. Text is
        generated without a grammar (llama-cpp-python checks a grammar against the whole
        vocabulary per token, which halves decoding speed) but with the call-opening and
        code-fence tokens banned, so text can never turn into a call or a fenced pseudo-call.
        Text is written from `answer` when given (another prompt for the same request).
        """
        with self._lock:
            self._last_features, self._last_names = None, {}
            forced = forced_tool(tool_choice, tools)
            decide = bool(tools) and tool_choice == "auto"
            call_odds: tuple[float | None, ...] = (None, None)
            if self.estimate_turn_end and messages[-1].role == "user":
                # Evaluated first, on a prefix of `prompt`: it fills the cache for the reply.
                estimate, call_odds = self._turn_readings(messages, tools, prompt, decide,
                                                          answer)
                emit(("turn_end", estimate, None))
                if stop.is_set():  # a speculation discarded meanwhile: free the model now
                    return
            if forced is not None or (
                    decide and self.wants_tool_call(messages, tools, prompt, call_odds=call_odds)):
                tool = forced or self.choose_tool(messages, tools, prompt)
                emit(("pending", tool["function"]["name"], None))
                head = call_head(tool["function"]["name"])
                emit(("text", head, None))
                written = [head]
                self._stream(prompt + head, lambda item: (written.append(item[1]), emit(item)),
                             pace, grammar=self._arguments_grammar(tool))
                if forced is None and messages[-1].role == "user":  # more things named, more calls
                    self._further_calls(prompt, "".join(written), messages[-1].content, tools,
                                        emit, stop.is_set)
                return
            # An answer to the user opens with words, not a digit (agent.backends.llama_cpp.answer_opening).
            first = self._digits() if messages[-1].role == "user" else []
            ban = answer_processor(list(self._text_ban()) if tools else [], first)
            self._stream(answer or prompt, emit, pace, logits_processor=[ban])

    def _stream(self, prompt: str, emit, pace, *, grammar: Any = None,
                logits_processor: list | None = None) -> None:
        """Generate from `prompt`, one piece each time `pace()` says the reader wants one."""
        stream = self._complete(
            prompt, max_tokens=self.max_tokens, temperature=self.temperature, top_p=self.top_p,
            stop=_STOP, grammar=grammar, logits_processor=logits_processor, stream=True,
        )
        try:
            while pace() and (chunk := next(stream, None)) is not None:
                choice = chunk["choices"][0]
                emit(("text", choice["text"], choice.get("finish_reason")))
        finally:
            stream.close()

    def _complete(self, prompt: str, **kwargs: Any) -> Any:
        """`create_completion`, with another prompt's cache parked or brought back first."""
        make_way(self._llm, self._llm.tokenize(prompt.encode("utf-8"), special=True),
                 kwargs.get("max_tokens") or self.max_tokens)
        self._llm._stepvox_answer_fresh = False  # this completion decodes: they go stale
        return self._llm.create_completion(prompt, **kwargs)

    async def prefill(self, system_prompt: str, tools: Sequence[dict[str, Any]] = ()) -> None:
        """Evaluate the fixed system + tools prefix now, so the first turn starts warm (a cold
        ~350-token prefix costs ~2.5 s on two cores; a warm one ~0.1 s)."""
        prefix = system_block(system_prompt, tools)

        def run() -> None:
            with self._lock:
                self._complete(prefix, max_tokens=1, temperature=0.0)
                if self.estimate_turn_end:  # a pass over the vocabulary, ~0.2 s: not on a turn
                    self._turn_end_tokens()
                if tools:
                    self._router().create_completion(prefix, max_tokens=1, temperature=0.0)
                    self._text_ban()
                    prior = self.tool_prior()
                    if prior is not None:  # loads MiniLM and embeds the tool examples
                        prior.scores("hello", tools)

        await in_llama_thread(run)

    async def anticipate(self, messages: Sequence[ChatMessage],
                         tools: Sequence[dict[str, Any]] = ()) -> bool:
        """Evaluate the next user turn's prompt up to its words (`turn_head`: history, the
        user-turn opening and the turn note) while the user is still speaking, so the pass
        after their pause holds only the words. Skipped (False) while the model is busy: a
        reply or a speculation in progress owns the cache, and when the system prompt is not
        the cached one: a guess at it (lore the words would trigger) must not evict it."""
        system = system_block(messages[0].content, tools) if messages else ""

        def run() -> bool:
            if not self._lock.acquire(blocking=False):
                return False
            try:
                llm = self._llm
                # Fitted as the turn will be, with room for its words.
                fitted = self._fit([*messages, ChatMessage(role="user", content="")], tools,
                                   spare=64)
                head = turn_head(fitted[:-1], tools)
                tokens = llm.tokenize(head.encode("utf-8"), special=True)
                # A parked persona prompt comes back; a guess parks nothing.
                make_way(llm, tokens, _SIDE_ROOM + self.max_tokens + 64, park=False)
                cached = llm.input_ids[:llm.n_tokens].tolist()
                same = common_prefix(cached, tokens)
                if same < self._token_count(system):
                    return False
                if same < len(tokens):
                    evaluate(llm, tokens, [len(tokens)])
                return True
            finally:
                self._lock.release()

        if self._lock.locked():  # not queued behind a reply that owns the model
            return False
        return await in_llama_thread(run)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[dict[str, Any]] = (),
        *,
        tool_choice: ToolChoice | str = "auto",
        answer_from: Sequence[ChatMessage] | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """See `ChatModel.stream`; `tool_choice` may also be `"call:NAME"`: a call of that
        offered tool, its arguments written under its grammar (`supports_forced_calls`).
        `answer_from`: when the reply is text, it is written from these messages (no tools)
        while the call is still decided on `messages` (agent.honesty.world_questions)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        stop = threading.Event()
        # The model decodes a piece only when its reader asks for the next one: a reader that
        # pauses (the speaking node while the first chunk is synthesized) pauses the
        # decoding at once, so the two do not fight over the same cores (on two cores a
        # sentence took ~70 ms to synthesize alone, ~180 ms beside a decoding model).
        wanted = threading.Event()

        def emit(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def pace() -> bool:
            """Block until the next piece is wanted; False once the reader has gone."""
            while not wanted.wait(timeout=0.05):
                if stop.is_set():
                    return False
            wanted.clear()
            return not stop.is_set()

        def run() -> None:
            try:
                # The latest message is also scored alone in a second sequence of the same
                # cells: room for it too, or llama.cpp finds no slot for the turn's batch.
                side = getattr(self, "_side_sequence", False) and bool(tools)
                fitted = self._fit(messages, tools, spare=_SIDE_ROOM if side else 0)
                answer = (render_turn_prompt(self._fit(answer_from, []), [])
                          if answer_from else None)
                self._generate(fitted, render_turn_prompt(fitted, tools), tools, tool_choice,
                               emit, stop, pace, answer)
            except Exception as exc:  # surfaced to the consumer as a named error
                emit(("error", exc, None))
            finally:
                emit(_END)

        worker = in_llama_thread(run)
        buffered: list[str] = []
        is_call: bool | None = None
        callable_ = bool(tools) and tool_choice != "none"
        finish = "stop"
        try:
            while True:
                wanted.set()
                if (item := await queue.get()) is _END:
                    break
                kind, value, reason = item
                if kind == "error":
                    raise ModelBackendError(f"llama.cpp generation failed: {value}") from value
                if kind == "turn_end":
                    yield TurnEndEstimate(value)
                    continue
                if kind == "pending":  # the call is decided; its arguments come next
                    yield ToolCallPending(value)
                    continue
                if kind == "call_end":  # another call follows this one (agent.backends.llama_cpp.more_calls)
                    yield ToolCallEvent(ground_call(parse_call("".join(buffered)), messages, tools))
                    buffered = []
                    continue
                finish = reason or finish
                if is_call is None and value.strip():
                    # With tools offered, text is generated with the call-opening tokens
                    # banned, so the first character decides, however the tokens split
                    # "<tool_call>". Without tools (a summary, fact extraction) nothing is
                    # banned and an answer may well start with "{": it is text.
                    is_call = callable_ and value.lstrip()[0] in "{<"
                if is_call:
                    buffered.append(value)
                elif value:
                    yield TextDelta(value)
            if is_call:
                yield ToolCallEvent(ground_call(parse_call("".join(buffered)), messages, tools))
            yield ModelDone(finish_reason=finish)
        finally:
            stop.set()  # a consumer that stopped early (barge-in) stops the generation
            await asyncio.shield(worker)
