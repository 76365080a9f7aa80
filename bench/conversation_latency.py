"""Later turns of a conversation: how long the embedded model takes from the user's words to
its decision and to its first text token, with and without anticipation.

The realtime loop calls `VoiceAgent.anticipate` when the user starts speaking, so the model
has evaluated the prompt up to where the words go (history, the previous reply, the turn
note) before the words exist. This runs the real `LlamaCppChatModel` (packaged 0.5B, the
default persona and the StepEval tools) through scripted conversations of `--turns` user
turns each: every turn is answered for real (greedy, up to 40 tokens; a decided tool call
is stopped at its decision and stands in history as a short spoken answer), and timed from
the call of `stream()` to the `TurnEndEstimate` (the pass that also decides the call) and to
the first text token. Each conversation is run twice, anticipation on and off, in
alternating order; with it on, `anticipate` runs untimed before each turn, as it would during
the user's speech.

    .venv/bin/python bench/conversation_latency.py --conversations 6

A benchmark, never a test: it asserts nothing. Needs the `embedded` extra.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import print_machine  # noqa: E402
from bench.stats import console, make_table, ratio, summarize, summary_cells  # noqa: E402

# Spoken-style user turns; each conversation takes `--turns` of them, rotated, so the later
# turns mix small talk, plain questions and tool requests.
SAID = [
    "Hi, I just got home from work.",
    "Why is the sky blue?",
    "What time is it?",
    "Can you tell me a fun fact about the moon?",
    "And how far away is it?",
    "What's the weather like in Paris?",
    "How do I boil an egg?",
    "Thanks, that's helpful.",
]
STANDIN_ANSWER = "Here is what I found."


async def run_conversation(model, system, tools, said: list[str], anticipate: bool) -> list[dict]:
    from agent.chat_model import ChatMessage, TextDelta, ToolCallPending, TurnEndEstimate

    messages = [system]
    turns = []
    for i, text in enumerate(said):
        if anticipate:
            await model.anticipate(messages, tools)
        messages.append(ChatMessage(role="user", content=text))
        t0 = time.perf_counter()
        decided = first = None
        reply: list[str] = []
        stream = model.stream(messages, tools)
        try:
            async for event in stream:
                now = (time.perf_counter() - t0) * 1000
                if isinstance(event, TurnEndEstimate):
                    decided = now
                elif isinstance(event, ToolCallPending):
                    reply = [STANDIN_ANSWER]
                    break
                elif isinstance(event, TextDelta):
                    first = first if first is not None else now
                    reply.append(event.text)
        finally:
            await stream.aclose()
        messages.append(ChatMessage(role="assistant", content="".join(reply).strip()
                                    or STANDIN_ANSWER))
        turns.append({"turn": i, "decided_ms": decided, "first_token_ms": first,
                      "anticipate": anticipate})
    return turns


async def main(args) -> None:
    from agent.chat_model import ChatMessage
    from agent.backends.llama_cpp.chat import LlamaCppChatModel
    from agent.models.cache import ModelStore
    from personas import DEFAULT_PERSONA
    from tools import ToolRegistry, stepeval_tools
    from tools.builtin.audio_library_files import builtin_audio_library

    con = console()
    print_machine(con)
    model = LlamaCppChatModel(ModelStore(progress=False).resolve(args.model),
                              n_threads=args.threads, temperature=0.0, max_tokens=40)
    tools = ToolRegistry(stepeval_tools(builtin_audio_library())).openai_schemas()
    system = ChatMessage(role="system", content=DEFAULT_PERSONA.full_system_prompt())
    rows: list[dict] = []
    for c in range(args.conversations):
        said = [SAID[(c + k) % len(SAID)] for k in range(args.turns)]
        for anticipate in ((True, False) if c % 2 == 0 else (False, True)):
            await model.prefill(system.content, tools)  # a new caller: only the prefix cached
            rows += await run_conversation(model, system, tools, said, anticipate)
        print(f"conversation {c + 1}/{args.conversations}", file=sys.stderr, flush=True)

    table = make_table(
        f"{args.conversations} conversations x {args.turns} turns, {args.model}: ms from "
        "stream() to the decision pass (turn-end estimate) and to the first text token",
        ["measure", "turns", "anticipate", "n", "p50", "p95", "mean"], numeric_from=3)
    p50 = {}
    for key, label in (("decided_ms", "decision"), ("first_token_ms", "first text token")):
        for which, pick in (("first", lambda r: r["turn"] == 0), ("later", lambda r: r["turn"] > 0)):
            for anticipate in (True, False):
                s = summarize(r[key] for r in rows if pick(r) and r["anticipate"] == anticipate)
                p50[key, which, anticipate] = s.p50 if s else None
                table.add_row(label, which, "on" if anticipate else "off", *summary_cells(s))
    con.print(table)
    for key, label in (("decided_ms", "decision"), ("first_token_ms", "first text token")):
        for which in ("first", "later"):
            con.print(f"{label}, {which} turns: p50 on / off = "
                      f"{ratio(p50[key, which, True], p50[key, which, False])}")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--conversations", type=int, default=6)
    p.add_argument("--turns", type=int, default=5, help="user turns per conversation")
    p.add_argument("--model", default="qwen2.5-0.5b-instruct")
    p.add_argument("--threads", type=int, default=None)
    return p.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
