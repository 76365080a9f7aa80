"""The packaged 0.5B LLM as shipped (Q4_K_M, mostly Q5_0 inside) vs its requantized IQ4_NL copy
(what the store loads by default): llama.cpp time for the realtime path's two shapes of work,
and perplexity, both files in the same run.

- "10-token pass": a cached 300-token prefix, then 10 new tokens in one batch (the pass after
  the user's pause: their words and the closing template);
- "decode": one token per llama_decode with logits (the reply being written);
- perplexity: next-token NLL over the first 4,000 tokens of README.md (English prose).

    .venv/bin/python bench/llm_requantized.py [--rounds 8] [--threads 2]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.machine import CpuMeter, print_machine  # noqa: E402
from bench.stats import console, make_table, ratio, summarize  # noqa: E402

out = console()
WORDS = b" Tell me a fun fact about the moon please now"
DECODE_TOKENS = 24


def timings(llm, rounds: int) -> tuple[list[float], list[float]]:
    prefix = llm.tokenize(b"You are a helpful voice assistant. Answer briefly and kindly. " * 20)[:300]
    words = llm.tokenize(WORDS, add_bos=False)[:10]
    passes, decodes = [], []
    for _ in range(rounds):
        llm.reset()
        llm.eval(prefix)
        t = time.perf_counter()
        llm.eval(words)
        passes.append((time.perf_counter() - t) * 1000)
        for i in range(DECODE_TOKENS):
            t = time.perf_counter()
            llm.eval([words[i % len(words)]])
            decodes.append((time.perf_counter() - t) * 1000)
    return passes, decodes


def perplexity(llm, text: str, limit: int = 4000, window: int = 1000) -> float:
    tokens = llm.tokenize(text.encode())[:limit]
    nll, n = 0.0, 0
    for start in range(0, len(tokens) - 1, window):
        chunk = tokens[start:start + window]
        llm.reset()
        llm.eval(chunk)
        logits = np.asarray(llm.scores[:len(chunk)], dtype=np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        nll -= float(logp[np.arange(len(chunk) - 1), chunk[1:]].sum())
        n += len(chunk) - 1
    return math.exp(nll / n)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    import llama_cpp

    from agent.models.cache import ModelStore
    from agent.models.catalog import DEFAULT_MODELS

    print_machine(out)
    key = DEFAULT_MODELS["llm"]
    files = {"packaged (Q4_K_M)": ModelStore(progress=False, requantize=False).resolve(key),
             "requantized (IQ4_NL)": ModelStore(progress=False).resolve(key)}
    text = (ROOT / "README.md").read_text()
    llms = {label: llama_cpp.Llama(str(path), n_ctx=1024, n_threads=args.threads, n_batch=512,
                                   logits_all=True, verbose=False)
            for label, path in files.items()}
    measured: dict[str, tuple[list[float], list[float]]] = {label: ([], []) for label in llms}
    for llm in llms.values():
        timings(llm, 1)  # warm-up: first touches of the weights
    meter = CpuMeter()
    with meter:
        for _ in range(args.rounds):  # alternating, so both files see the same machine load
            for label, llm in llms.items():
                passes, decodes = timings(llm, 1)
                measured[label][0].extend(passes)
                measured[label][1].extend(decodes)
    rows = {label: (summarize(measured[label][0]), summarize(measured[label][1]),
                    perplexity(llm, text), files[label].stat().st_size / 1e6)
            for label, llm in llms.items()}
    table = make_table(f"Qwen2.5-Coder 0.5B on llama.cpp, {args.threads} threads, "
                       f"{args.rounds} rounds",
                       ["file", "MB", "10-token pass p50", "p95", "decode ms/token p50", "p95",
                        "perplexity"], numeric_from=1)
    for label, (pas, dec, ppl, mb) in rows.items():
        table.add_row(label, f"{mb:.0f}", f"{pas.p50:.1f}", f"{pas.p95:.1f}", f"{dec.p50:.1f}",
                      f"{dec.p95:.1f}", f"{ppl:.2f}")
    out.print(table)
    (a_pass, a_dec, a_ppl, _), (b_pass, b_dec, b_ppl, _) = rows.values()
    out.print(f"cores used meanwhile by other processes: {meter.reading.other_cores:.2f}")
    out.print(f"requantized / packaged: 10-token pass {ratio(b_pass.p50, a_pass.p50)}, decode "
              f"{ratio(b_dec.p50, a_dec.p50)}, perplexity {ratio(b_ppl, a_ppl, 3)}")


if __name__ == "__main__":
    main()
