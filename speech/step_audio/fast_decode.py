"""Fast token-by-token decoding for local checkpoints (Step-Audio-TTS-3B, Step-Audio 2 mini
shapes): a static KV cache, and on CUDA the one-token step compiled with
`torch.compile(mode="reduce-overhead")`, i.e. replayed as a CUDA graph.

Why: at batch 1 a decode step is a few hundred small kernels. Plain `generate()` grows its KV
cache each step and launches every kernel from Python, so the GPU mostly waits on the CPU
(about 6 % of the weight-streaming limit for a 3B model on an H100). A cache of fixed shape
lets the whole step be captured once and replayed with one launch.

On CPU (or with `compile=False`) the same loop runs eagerly: no compiler, same tokens. If
compiling fails on a machine, the generator says so once (a warning) and carries on eagerly.

    gen = StaticCacheGenerator(model)
    for step in gen.stream(input_ids, max_new_tokens=200, stop_ids=[3]):
        ...  # step: LongTensor (batch,), the ids just chosen

All prompts of a batch must have the same length (no padding): the fast path is for
streaming one utterance, or a few of equal length in a benchmark.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TypeVar

import torch
from transformers import LogitsProcessorList, StaticCache

T = TypeVar("T")


class GenerationLengthError(ValueError):
    """The prompt plus the tokens asked for do not fit the model's context."""


def _make_static_cache(model: torch.nn.Module, batch: int, length: int) -> StaticCache:
    """A StaticCache across transformers versions (the constructor's keywords changed)."""
    params = inspect.signature(StaticCache.__init__).parameters
    kwargs: dict = {"config": model.config, "max_cache_len": length}
    if "max_batch_size" in params:
        kwargs["max_batch_size"] = batch
    if "device" in params:
        kwargs["device"] = model.device
    if "dtype" in params:
        kwargs["dtype"] = model.dtype
    return StaticCache(**kwargs)


def _next_ids(scores: torch.Tensor, temperature: float | None, top_p: float,
              generator: torch.Generator | None) -> torch.Tensor:
    if not temperature:
        return scores.argmax(dim=-1)
    probs = torch.softmax(scores.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        # Keep the smallest set whose mass reaches top_p (the first token always stays).
        drop = sorted_p.cumsum(dim=-1) - sorted_p > top_p
        sorted_p = sorted_p.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


class StaticCacheGenerator:
    """Streams greedy or sampled tokens from a transformers causal LM with a static KV cache.

    `compile=None` compiles the decode step on CUDA only. `max_cache_len` is the starting
    cache size; a longer request gets a larger cache (and, when compiled, one recompile).
    """

    def __init__(self, model: torch.nn.Module, *, max_cache_len: int = 2048,
                 compile: bool | None = None) -> None:
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.compiled = self.device.type == "cuda" if compile is None else compile
        self.max_positions = getattr(model.config, "max_position_embeddings", None)
        self.cache_len = max_cache_len
        self._cache: StaticCache | None = None
        self._cache_batch = 0
        self._step_fn = self._compile_step() if self.compiled else self._eager_step
        params = inspect.signature(model.forward).parameters
        self._takes_logits_to_keep = "logits_to_keep" in params
        # transformers 5 names the argument `cache` and tracks positions inside a static
        # cache; 4.x takes `past_key_values` and needs `cache_position`.
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self._pass_position = "cache_position" in params

    def _forward(self, ids: torch.Tensor, position: torch.Tensor, cache: StaticCache, **extra):
        kwargs = {self._cache_arg: cache, "use_cache": True, **extra}
        if self._pass_position:
            kwargs["cache_position"] = position
        return self.model(input_ids=ids, **kwargs).logits[:, -1, :]

    def _eager_step(self, ids: torch.Tensor, position: torch.Tensor,
                    cache: StaticCache) -> torch.Tensor:
        return self._forward(ids, position, cache)

    def _compile_step(self):
        # Graph breaks are allowed: the model code of a checkpoint may not trace whole.
        return torch.compile(self._eager_step, mode="reduce-overhead", fullgraph=False)

    def _cache_for(self, batch: int, needed: int) -> StaticCache:
        if self.max_positions is not None and needed > self.max_positions:
            raise GenerationLengthError(
                f"{needed} positions asked (prompt + new tokens), but the model takes at most "
                f"{self.max_positions}; ask for fewer new tokens or a shorter prompt.")
        if self._cache is None or batch != self._cache_batch or needed > self.cache_len:
            while self.cache_len < needed:
                self.cache_len *= 2
            if self.max_positions is not None:
                self.cache_len = min(self.cache_len, self.max_positions)
            self._cache = _make_static_cache(self.model, batch, self.cache_len)
            self._cache_batch = batch
        else:
            self._cache.reset()
        return self._cache

    def _prefill(self, ids: torch.Tensor, cache: StaticCache) -> torch.Tensor:
        position = torch.arange(ids.shape[1], device=self.device)
        extra = {"logits_to_keep": 1} if self._takes_logits_to_keep else {}
        return self._forward(ids, position, cache, **extra)

    def _decode(self, ids: torch.Tensor, position: torch.Tensor,
                cache: StaticCache) -> torch.Tensor:
        try:
            # A CUDA-graph replay reuses its output buffer: copy before the next step.
            return self._step_fn(ids, position, cache).clone()
        except Exception as exc:  # torch.compile raises many error types; all mean "no graph"
            if self._step_fn is self._eager_step:
                raise
            warnings.warn(f"compiling the decode step failed ({type(exc).__name__}: {exc}); "
                          "decoding eagerly instead", RuntimeWarning, stacklevel=3)
            self._step_fn = self._eager_step
            self.compiled = False
            return self._eager_step(ids, position, cache)

    @torch.no_grad()
    def stream(self, input_ids: torch.Tensor | Sequence[int], *, max_new_tokens: int,
               stop_ids: Sequence[int] = (), logits_processor: LogitsProcessorList | None = None,
               temperature: float | None = None, top_p: float = 1.0,
               generator: torch.Generator | None = None) -> Iterator[torch.Tensor]:
        """Yield the ids chosen at each step, shape (batch,), until every row has hit a stop id
        (the stop id is yielded) or `max_new_tokens` steps. `temperature` None or 0 = greedy.
        Rows that stopped keep yielding their stop id while others go on."""
        ids = torch.as_tensor(input_ids, dtype=torch.long, device=self.device)
        if ids.ndim == 1:
            ids = ids[None]
        if ids.numel() == 0:
            raise GenerationLengthError("the prompt is empty: nothing to continue from")
        if max_new_tokens < 1:
            return
        batch, length = ids.shape
        cache = self._cache_for(batch, length + max_new_tokens)
        processors = logits_processor or LogitsProcessorList()
        stops = torch.tensor(list(stop_ids) or [-1], device=self.device)
        done = torch.zeros(batch, dtype=torch.bool, device=self.device)
        history = ids
        # The position lives on the device and is advanced there: a new host tensor per step
        # was a blocking copy, and with the stop check below the GPU idled between steps
        # (H200, 3B at batch 1: ~5 ms a step against a 1.6 ms weight-streaming limit).
        position = torch.full((1,), length - 1, dtype=torch.long, device=self.device)
        scores = self._prefill(ids, cache)
        for step in range(max_new_tokens):
            if processors:  # only processors read the history; growing it costs a copy
                scores = processors(history, scores.float())
            chosen = _next_ids(scores, temperature, top_p, generator)
            chosen = torch.where(done, stops[0], chosen)
            done |= torch.isin(chosen, stops)
            yield chosen
            # Reading `done` waits for the GPU: only when a row can stop at all.
            if step == max_new_tokens - 1 or (stop_ids and bool(done.all())):
                return
            if processors:
                history = torch.cat([history, chosen[:, None]], dim=1)
            position = position + 1
            scores = self._decode(chosen[:, None], position, cache)

    def generate(self, input_ids: torch.Tensor | Sequence[int], **kwargs) -> list[list[int]]:
        """All new ids per row, stop ids included (a convenience over `stream`)."""
        steps = list(self.stream(input_ids, **kwargs))
        if not steps:
            return []
        return torch.stack(steps, dim=1).tolist()


async def iterate_in_thread(
        produce: Callable[[threading.Event], Iterator[T]]) -> AsyncIterator[T]:
    """Run the blocking generator `produce(stop)` in a worker thread and yield its items here.

    The event loop stays free while a model decodes. When the consumer stops early (barge-in:
    the async iterator is closed), `stop` is set so the generator can end at its next step,
    and the worker is awaited, so no decoding outlives the stream.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()
    done = object()

    def put(item) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is gone: nobody is listening any more
            stop.set()

    def work() -> None:
        try:
            for item in produce(stop):
                put((item, None))
                if stop.is_set():
                    break
        except BaseException as exc:  # handed to the consumer and raised there
            put((None, exc))
        finally:
            put(done)

    worker = loop.run_in_executor(None, work)
    try:
        while (item := await queue.get()) is not done:
            value, error = item
            if error is not None:
                raise error
            yield value
    finally:
        stop.set()
        await asyncio.shield(worker)
