"""Decode speed of local checkpoints: plain `generate()` vs the static-cache fast path.

Random-init models (config only, nothing downloaded) of the shapes stepvox runs locally:
  3b    Llama-shaped stand-in of Step-Audio-TTS-3B's size (3.3 B; the real Step1 model class
        ships with the checkpoint, not with transformers), vocabulary 65536 + 5120 audio + spare
  7b    Qwen2.5-7B, the LLM of Step-Audio 2 mini
  tiny  a 4-layer model for CPU runs (checks the harness, says nothing about a GPU)
For batch 1 and 8: tokens/s, per-step latency (p50/p95), and the weight-streaming limit: a
decode step must read every weight once, so tokens/s <= batch x bandwidth / weight bytes
(KV-cache reads are left out: short contexts). Bandwidth is measured in the same run (a large
device-to-device copy). The reference in the same run is plain `generate()`; the ratio column
is fast / plain.

    .venv/bin/python bench/gpu_decode.py                       # GPU: 3b and 7b
    .venv/bin/python bench/gpu_decode.py --shape tiny          # CPU
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config
from transformers.generation.streamers import BaseStreamer

_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_ROOT))
sys.path.insert(0, str(_ROOT / "bench"))
from machine import CpuMeter, print_machine  # noqa: E402
from stats import console, fmt, make_table, ratio, summarize  # noqa: E402



def _fast_decode_module():
    """`speech.step_audio.fast_decode` loaded from its file alone: it needs only torch and
    transformers, while `import speech` pulls in the audio stack (soundfile, pydantic), which
    a bare GPU machine with a CUDA torch may not have."""
    import importlib.util

    path = _ROOT / "speech" / "step_audio_fast_decode.py"
    spec = importlib.util.spec_from_file_location("step_audio_fast_decode", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


StaticCacheGenerator = _fast_decode_module().StaticCacheGenerator

SHAPES = {
    "tiny": lambda: LlamaConfig(vocab_size=8192, hidden_size=256, intermediate_size=688,
                                num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                                max_position_embeddings=2048),
    "3b": lambda: LlamaConfig(vocab_size=74752, hidden_size=3072, intermediate_size=8192,
                              num_hidden_layers=28, num_attention_heads=24,
                              num_key_value_heads=8, max_position_embeddings=8192),
    "7b": lambda: Qwen2Config(vocab_size=152064, hidden_size=3584, intermediate_size=18944,
                              num_hidden_layers=28, num_attention_heads=28,
                              num_key_value_heads=4, max_position_embeddings=8192),
}


class StepClock(BaseStreamer):
    """Timestamps every step of `generate()` (its first `put` is the prompt)."""

    def __init__(self, sync) -> None:
        self.sync = sync
        self.times: list[float] = []

    def put(self, value) -> None:
        self.sync()
        self.times.append(time.perf_counter())

    def end(self) -> None:
        pass


def measure_bandwidth(device: torch.device, sync) -> float:
    """Bytes/s of a device-to-device copy (read + write counted), best of 5."""
    n = (1 << 30 if device.type == "cuda" else 1 << 28) // 4
    src = torch.empty(n, dtype=torch.float32, device=device).fill_(1.0)
    dst = torch.empty_like(src)
    best = float("inf")
    for _ in range(6):
        sync()
        t0 = time.perf_counter()
        dst.copy_(src)
        sync()
        best = min(best, time.perf_counter() - t0)
    return 2 * src.numel() * 4 / best


def run_plain(model, prompt, new, sync) -> tuple[float, list[float]]:
    clock = StepClock(sync)
    sync()
    t0 = time.perf_counter()
    model.generate(prompt, max_new_tokens=new, min_new_tokens=new, do_sample=False,
                   eos_token_id=None, pad_token_id=0, streamer=clock)
    sync()
    total = time.perf_counter() - t0
    steps = [b - a for a, b in zip(clock.times[1:], clock.times[2:])]
    return total, steps


def run_fast(gen, prompt, new, sync) -> tuple[float, list[float]]:
    sync()
    t0 = time.perf_counter()
    times = []
    for _ in gen.stream(prompt, max_new_tokens=new):
        times.append(time.perf_counter())  # each step ends with a host sync (stop check)
    sync()
    total = time.perf_counter() - t0
    return total, [b - a for a, b in zip(times, times[1:])]


def bench_shape(name: str, args, device, sync, bandwidth, table) -> None:
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(SHAPES[name](), dtype=dtype).eval()
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    params = sum(p.numel() for p in model.parameters())
    gen = StaticCacheGenerator(model, max_cache_len=args.prompt + args.new + 16,
                               compile=None if args.compile == "auto" else args.compile == "on")
    for batch in args.batches:
        prompt = torch.randint(10, 1000, (batch, args.prompt), device=device)
        results = {}
        for label, runner in (("generate()", lambda: run_plain(model, prompt, args.new, sync)),
                              ("static" + ("+graph" if gen.compiled else ""),
                               lambda: run_fast(gen, prompt, args.new, sync))):
            for _ in range(args.warmup):
                runner()
            totals, steps = [], []
            with CpuMeter() as meter:
                for _ in range(args.runs):
                    total, step = runner()
                    totals.append(batch * args.new / total)
                    steps += step
            results[label] = (summarize(totals), summarize([s * 1000 for s in steps]),
                              meter.reading.other_cores)
        limit = batch * bandwidth / weight_bytes
        plain = next(iter(results.values()))[0].p50
        for label, (tps, step, others) in results.items():
            size = f"{params / 1e9:.2f} B" if params > 1e9 else f"{params / 1e6:.0f} M"
            table.add_row(name, size, str(batch), label, str(tps.n),
                          fmt(tps.p50, 1), fmt(step.p50, 2), fmt(step.p95, 2), fmt(limit, 0),
                          f"{100 * tps.p50 / limit:.1f} %", ratio(tps.p50, plain),
                          fmt(others, 1))
    del model, gen
    if device.type == "cuda":
        torch.cuda.empty_cache()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", action="append", choices=sorted(SHAPES),
                        help="repeatable; default 3b and 7b on a GPU, tiny on CPU")
    parser.add_argument("--batches", type=lambda s: [int(b) for b in s.split(",")],
                        default=[1, 8])
    parser.add_argument("--prompt", type=int, default=64, help="prompt tokens")
    parser.add_argument("--new", type=int, default=None, help="new tokens per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--compile", choices=["auto", "on", "off"], default="auto")
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    args.shape = args.shape or (["3b", "7b"] if cuda else ["tiny"])
    args.new = args.new or (256 if cuda else 48)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    out = console(width=132)
    print_machine(out)
    gpu = torch.cuda.get_device_name() if cuda else "none (CPU run)"
    bandwidth = measure_bandwidth(device, sync)
    out.print(f"torch {torch.__version__} ({torch.get_num_threads()} threads) | GPU: {gpu} | "
              "measured copy bandwidth "
              f"{bandwidth / 1e9:.0f} GB/s | prompt {args.prompt} tokens, {args.new} new, "
              f"{args.runs} runs after {args.warmup} warm-up", markup=False)
    table = make_table("Decode tokens/s: plain generate() vs static KV cache",
                       ["shape", "params", "batch", "path", "n", "tok/s p50", "step ms p50",
                        "step ms p95", "limit tok/s", "of limit", "vs plain", "others"],
                       numeric_from=1)
    for name in args.shape:
        bench_shape(name, args, device, sync, bandwidth, table)
    out.print(table)
    out.print("limit = batch x measured bandwidth / weight bytes (weights read once per step). "
              "tok/s counts all rows of the batch; step times are per decode step. "
              "generate() = plain transformers generate (dynamic cache, the reference); "
              "static = StaticCacheGenerator (+graph: decode step compiled, CUDA graphs). "
              "others = CPU cores other processes kept busy meanwhile.",
              markup=False)


if __name__ == "__main__":
    main()
