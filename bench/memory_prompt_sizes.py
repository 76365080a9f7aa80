"""The prompt-size part of `bench/memory_bench.py` (see its docstring): the same user turns
through three `VoiceAgent`s (full history, a token budget without summaries, a token budget
with the running summary), the prompt the model gets measured every 20 stored turns."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from memory.context_window import MESSAGE_OVERHEAD_TOKENS, approximate_tokens
from memory.sql_store import SqlDialogueStore
from stats import fmt, make_table, ratio, summarize

CID = "bench-conversation"


class HistoryOnly:
    """A store without running summaries: the agent's window then drops old turns unfolded."""

    def __init__(self, store) -> None:
        self.store = store

    async def append(self, conversation_id, turns):
        await self.store.append(conversation_id, turns)

    async def history(self, conversation_id, limit=None):
        return await self.store.history(conversation_id, limit)


def scripted_model(replies: dict[str, str], summary_chars: int):
    from fakes import ScriptedChatModel

    summary = ("Summary of the conversation so far: the user asked about orders, refunds, "
               "travel and the weather. " + "x" * summary_chars)[:summary_chars]
    prompts: list[int] = []
    summaries = [0]

    def reply(messages, tools, tool_choice):
        if messages[0].content.startswith("You keep the running summary"):
            summaries[0] += 1
            return summary
        prompts.append(sum(approximate_tokens(m.content) + MESSAGE_OVERHEAD_TOKENS
                           for m in messages))
        return replies[messages[-1].content]

    return ScriptedChatModel([reply]), prompts, summaries


async def prompt_sizes(folder: Path, args, replies: dict[str, str]):
    """(rows every 20 stored turns, turn times per variant, (summary tokens, stored turns
    it covers, summary model calls)) at the end."""
    from agent import VoiceAgent

    questions = list(replies)
    variants = {"full history": {"history_turns": 10**9},
                "budget, no summary": {"history_token_budget": args.budget},
                "budget + summary": {"history_token_budget": args.budget}}
    runs = {}
    for name, options in variants.items():
        store = SqlDialogueStore(folder / f"{len(runs)}.sqlite3")
        model, prompts, summaries = scripted_model(replies, args.summary_chars)
        memory = HistoryOnly(store) if name == "budget, no summary" else store
        agent = VoiceAgent(model, memory=memory, tools=[], **options)
        runs[name] = (agent, store, prompts, summaries, [])
    for question in questions:
        for name, (agent, _, _, _, times) in runs.items():  # interleaved: same machine load
            t0 = time.perf_counter()
            await agent.arespond(question, conversation_id=CID, synthesize=False)
            times.append((time.perf_counter() - t0) * 1000)
            if agent.services.folder is not None:
                await agent.services.folder.drain()
    rows = []
    summarized = runs["budget + summary"]
    for k in sorted({*range(10, len(questions), 10), len(questions) - 1}):
        rows.append([2 * k, *(runs[n][2][k] for n in variants)])  # k exchanges stored before
    summary = await summarized[1].latest_summary(CID)
    last = (approximate_tokens(summary.text) if summary else 0,
            summary.through_seq + 1 if summary else 0, summarized[3][0])
    times = {name: run[4] for name, run in runs.items()}
    for agent, store, *_ in runs.values():
        await agent.aclose()
        await store.close()
    return [tuple(r) for r in rows], times, last


async def prompt_report(args, con, replies: dict[str, str]) -> None:
    """`replies`: the user turns, in order, each with the fake model's answer."""
    tmp = Path(tempfile.mkdtemp(prefix="stepvox_prompt_bench_"))
    try:
        rows, times, (summary_tokens, covers, summary_calls) = await prompt_sizes(tmp, args, replies)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table = make_table(
        f"Prompt the model gets over a {args.prompt_turns}-turn conversation, through "
        f"VoiceAgent (tokens; budget {args.budget})",
        ["turns stored before", "full history", "budget, no summary", "budget + summary"],
        numeric_from=1)
    for r in rows:
        table.add_row(*(f"{v:,}" for v in r))
    con.print(table)
    timing = make_table("Turn time with each history (ms, fake model: framework + database)",
                        ["history", "n", "p50", "p95", "p50 / full history"], numeric_from=1)
    ref = summarize(times["full history"]).p50
    for name, values in times.items():
        t = summarize(values)
        timing.add_row(name, str(t.n), fmt(t.p50, 2), fmt(t.p95, 2), ratio(t.p50, ref))
    con.print(timing)
    last = rows[-1]
    con.print(f"tokens: every message of the prompt (persona, summary, history, the user's "
              f"turn), approximate_tokens + {MESSAGE_OVERHEAD_TOKENS} per message. Summary at "
              f"the end: {summary_tokens} tokens covering the first {covers} stored turns, "
              f"written in {summary_calls} model calls (folds run after a turn, in batches). "
              f"At {last[0]} turns: budget + summary = {last[3]:,} tokens vs full history "
              f"{last[1]:,} ({ratio(last[3], last[1])} of it).", markup=False)
