"""What a tool author's names, descriptions and examples buy: the same requests, the same
model, three ways of writing the same four tools.

The held-out half of bench/data/toolcall_eval.jsonl (spoken requests that need `search`,
`get_date_time`, `get_weather` or `timbre_rag`, and related-sounding ones that need none),
asked of `LlamaCppChatModel` with the default persona's prompt, each way the tools can be
written:

- `vague`: names `tool_a`..`tool_d`, a one-word description each, no examples;
- `described`: the real names and descriptions, no examples (how a plugin tool arrives);
- `examples`: the real names, descriptions and the example requests stepvox ships for them
  (`agent/tool_choice/prior_examples.py`: what `@tool(examples=[...])` gives a plugin).

Prints trigger recall (requests that need a tool and get a call), false calls on requests
that need none, and the right tool among calls, per way, with the machine. Asserts nothing.

    .venv/bin/python bench/tool_authoring.py [--split test] [--limit N] [--model NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.chat_model import ChatMessage  # noqa: E402
from agent.tool_choice.prior import ToolPrior  # noqa: E402
from agent.tool_choice.prior_examples import TOOL_REQUESTS  # noqa: E402
from bench.machine import print_machine  # noqa: E402
from bench.stats import console, make_table  # noqa: E402
from bench.toolcall_eval import NONE, ask, histories, load  # noqa: E402
from personas import DEFAULT_PERSONA  # noqa: E402
from tools import ToolRegistry, stepeval_tools  # noqa: E402
from tools.builtin.audio_library_files import builtin_audio_library  # noqa: E402

VAGUE = {"search": ("tool_a", "Search."), "get_date_time": ("tool_b", "Time."),
         "get_weather": ("tool_c", "Weather."), "timbre_rag": ("tool_d", "Audio.")}


def written(way: str) -> tuple[list[dict], dict[str, str]]:
    """The four tools' schemas written `way`, and each schema name's real tool."""
    schemas = ToolRegistry(stepeval_tools(builtin_audio_library())).openai_schemas()
    if way != "vague":
        return schemas, {s["function"]["name"]: s["function"]["name"] for s in schemas}
    renamed, real = [], {}
    for s in schemas:
        name, description = VAGUE[s["function"]["name"]]
        real[name] = s["function"]["name"]
        renamed.append({**s, "function": {**s["function"], "name": name,
                                          "description": description}})
    return renamed, real


async def run(args) -> None:
    from agent.backends.llama_cpp.chat import LlamaCppChatModel
    from agent.models.cache import ModelStore
    from tools.builtin.audio_embeddings import minilm_embedder

    con = console()
    print_machine(con)
    records = load(args.limit, args.seed, args.split)
    path = ModelStore(progress=False).resolve(args.model)
    embed = minilm_embedder()
    table = make_table(f"One request set ({len(records)} records, split {args.split}), three "
                       "ways of writing the same tools",
                       ["way", "recall", "false calls", "precision", "right tool", "s"])
    hist = histories()
    for way in ("vague", "described", "examples"):
        schemas, real = written(way)
        prior = ToolPrior(embed, tool_requests=TOOL_REQUESTS if way == "examples" else {})
        model = LlamaCppChatModel(path, temperature=0.0, tool_prior=prior,
                                  estimate_turn_end=False)
        system = ChatMessage(role="system", content=DEFAULT_PERSONA.full_system_prompt())
        await model.prefill(system.content, schemas)
        tp = fp = right = pos = neg = 0
        started = time.perf_counter()
        for r in records:
            messages = [system, *hist[r["history"]], ChatMessage(role="user", content=r["text"])]
            called, _, _ = await ask(model, messages, schemas)
            did = called != NONE
            if r["label"] == "positive":
                pos += 1
                tp += did
                right += real.get(called) == r["tool"]
            else:
                neg += 1
                fp += did
        table.add_row(way, f"{tp / max(1, pos):.1%}", f"{fp}/{neg}",
                      f"{tp / max(1, tp + fp):.1%}", f"{right / max(1, tp):.1%}",
                      f"{time.perf_counter() - started:.0f}")
        del model  # one model in memory at a time
    con.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="test", choices=("dev", "test", "all"))
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="qwen2.5-0.5b-instruct",
                        help="catalog name of the LLM (qwen2.5-1.5b-instruct: the quality profile)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
