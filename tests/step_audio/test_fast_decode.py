"""`StaticCacheGenerator` on a tiny random Llama on CPU: the same greedy tokens as plain
`generate()`, one step at a time, with stops, cache growth and a clean fallback when compiling
the decode step fails."""

from __future__ import annotations

import warnings

import pytest
import torch

from speech.step_audio.fast_decode import GenerationLengthError, StaticCacheGenerator
from tiny_step_audio_lm import tiny_model

SMALL = dict(vocab_size=300, max_position_embeddings=256)


def plain_generate(model, prompt: torch.Tensor, n: int) -> list[list[int]]:
    out = model.generate(prompt, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                         eos_token_id=None, pad_token_id=0)
    return out[:, prompt.shape[1]:].tolist()


@pytest.mark.parametrize("batch", [1, 3])
def test_greedy_tokens_equal_plain_generate(batch):
    model = tiny_model(seed=batch, **SMALL)
    prompt = torch.randint(5, 300, (batch, 17), generator=torch.Generator().manual_seed(batch))
    fast = StaticCacheGenerator(model, max_cache_len=64)
    assert not fast.compiled  # CPU: the eager static-cache loop
    assert fast.generate(prompt, max_new_tokens=40) == plain_generate(model, prompt, 40)


def test_tokens_stream_one_step_per_forward_pass():
    model = tiny_model(**SMALL)
    forwards = []
    model.register_forward_hook(lambda _m, args, kwargs, out: forwards.append(
        kwargs["input_ids"].shape[1]), with_kwargs=True)
    stream = StaticCacheGenerator(model).stream([5, 6, 7, 8], max_new_tokens=5)
    first = next(stream)
    assert first.shape == (1,) and forwards == [4]  # only the prefill ran so far
    rest = list(stream)
    assert len(rest) == 4 and forwards == [4, 1, 1, 1, 1]


def test_stops_at_a_stop_id_and_grows_the_cache_for_long_requests():
    model = tiny_model(**SMALL)
    fast = StaticCacheGenerator(model, max_cache_len=16)
    prompt = torch.tensor([[9, 10, 11]])
    full = fast.generate(prompt, max_new_tokens=30)[0]  # 33 positions: cache grows to 64
    assert fast.cache_len == 64 and full == plain_generate(model, prompt, 30)[0]
    stop = full[4]
    cut = fast.generate(prompt, max_new_tokens=30, stop_ids=[stop])[0]
    assert cut == full[:full.index(stop) + 1]
    with pytest.raises(GenerationLengthError, match="at most 256"):
        fast.generate(prompt, max_new_tokens=300)
    with pytest.raises(GenerationLengthError, match="empty"):
        fast.generate([], max_new_tokens=3)


def test_a_failing_compile_falls_back_to_eager_with_a_warning(monkeypatch):
    def broken_compile(fn, **_):
        def step(*args):
            raise RuntimeError("no compiler on this machine")
        return step

    monkeypatch.setattr(torch, "compile", broken_compile)
    model = tiny_model(**SMALL)
    fast = StaticCacheGenerator(model, compile=True)
    prompt = torch.tensor([[5, 6, 7]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tokens = fast.generate(prompt, max_new_tokens=8)
    assert "no compiler on this machine" in str(caught[0].message)
    assert not fast.compiled and tokens == plain_generate(model, prompt, 8)


def test_sampling_is_reproducible_with_a_seeded_generator():
    model = tiny_model(**SMALL)
    fast = StaticCacheGenerator(model)

    def sample(seed):
        return fast.generate([5, 6, 7], max_new_tokens=12, temperature=0.9, top_p=0.8,
                             generator=torch.Generator().manual_seed(seed))

    assert sample(3) == sample(3) and sample(3) != sample(4)
