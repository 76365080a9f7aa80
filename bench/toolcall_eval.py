"""Tool-call quality of the embedded model on StepEval-style spoken requests, plus the cost of
dispatching a call.

`bench/data/toolcall_eval.jsonl` holds labelled requests for the four StepEval tools
(`search`, `get_date_time`, `get_weather`, `timbre_rag`): positives must call their tool with
the expected arguments, negatives (related-sounding requests, small talk) must call nothing.
Each record is asked with no history, after a `get_weather` tool turn, or after small talk.
Every request goes through `LlamaCppChatModel.stream` with all four tools offered and the
default persona's system prompt (what a turn sends), and the stream is consumed until it is
clearly text (first non-blank `TextDelta`: the rest is not needed to score) or a
`ToolCallEvent` arrives.

Scores: trigger precision / recall (overall and per tool; any call on a negative is a false
trigger for that record's tool), tool-type accuracy (positives that called something: the
right tool?), argument accuracy (right-tool calls with the expected arguments, exact after
normalising, per tool and half: bench/toolcall_arguments.py) and the worst confusions. Then dispatch overhead: `dispatch_calls` and `ToolRegistry.invoke` of a
no-op tool (async and sync) and of `get_date_time`, against calling the function directly.

Records carry a `split` (`dev`: calibration half, the only one anything is tuned on; `test`:
held out; see bench/toolcall_split.py); results are also reported per split.

    .venv/bin/python bench/toolcall_eval.py [--split dev|test|all] [--tool NAME] [--limit N] [--model NAME]
        [--dispatch-n 2000] [--out runs.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.chat_model import ChatMessage, TextDelta, ToolCall, ToolCallEvent  # noqa: E402
from agent.errors import ModelBackendError  # noqa: E402
from bench.machine import CpuMeter, print_machine  # noqa: E402
from bench.stats import console, fmt, make_table, summarize  # noqa: E402
from personas import DEFAULT_PERSONA  # noqa: E402
from tools import ToolRegistry, dispatch_calls, get_date_time, stepeval_tools, tool  # noqa: E402
from tools.builtin.audio_library_files import builtin_audio_library  # noqa: E402
from bench.toolcall_arguments import arguments_exact, arguments_ok, argument_table  # noqa: E402

DATA = ROOT / "bench" / "data" / "toolcall_eval.jsonl"
TOOLS = ("search", "get_date_time", "get_weather", "timbre_rag")
PRECISION_GOAL, RECALL_GOAL = 0.92, 0.97
NONE, ERROR = "(none)", "(cut off)"
ARGUMENTS_GOAL = 0.95  # exact arguments among right-tool calls, held-out half


def histories() -> dict[str | None, list[ChatMessage]]:
    call = ToolCall(id="h1", name="get_weather", arguments={"location": "Oslo"})
    return {
        None: [],
        "after_tool": [
            ChatMessage(role="user", content="is it raining in oslo"),
            ChatMessage(role="assistant", tool_calls=[call]),
            ChatMessage(role="tool", tool_call_id="h1", name="get_weather",
                        content='{"spoken": "It is 4 degrees and cloudy in Oslo, no rain."}'),
            ChatMessage(role="assistant", content="No rain in Oslo right now, 4 degrees and cloudy."),
        ],
        "small_talk": [
            ChatMessage(role="user", content="hi joe i just got home from work"),
            ChatMessage(role="assistant", content="Welcome home! How was your day?"),
        ],
    }


def load(limit: int | None, seed: int, split: str = "all") -> list[dict]:
    """The records of `split` ("dev": calibration half, "test": held-out half, or "all";
    the `split` field comes from bench/toolcall_split.py), optionally subsampled."""
    records = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = [r for r in records if split == "all" or r["split"] == split]
    if limit and limit < len(records):
        # Stratified: the same share of every (tool, label) group, so a subsample stays balanced.
        groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for r in records:
            groups[(r["tool"], r["label"])].append(r)
        rng = random.Random(seed)
        per = max(1, limit // len(groups))
        records = [r for g in groups.values() for r in rng.sample(g, min(per, len(g)))]
    return records


class DroppedArguments(logging.Handler):
    """Collects what argument grounding removed and added (`agent.backends.llama_cpp.calls` logs both at
    INFO), so a wrong-argument record shows the value the model wrote."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.dropped: dict = {}
        self.filled: dict = {}

    def emit(self, record: logging.LogRecord) -> None:
        if len(record.args or ()) != 2:
            return
        if record.msg.startswith(("dropped", "replaced")):  # the model's own value
            self.dropped.update(record.args[1])
        elif record.msg.startswith("filled"):
            self.filled.update(record.args[1])


async def ask(model, messages, schemas) -> tuple[str, dict, float]:
    """(tool called or NONE / ERROR, its arguments, seconds to the decision)."""
    started = time.perf_counter()
    try:
        async with contextlib.aclosing(model.stream(messages, schemas, tool_choice="auto")) as events:
            async for event in events:
                if isinstance(event, ToolCallEvent):
                    return event.call.name, dict(event.call.arguments), time.perf_counter() - started
                if isinstance(event, TextDelta) and event.text.strip():
                    return NONE, {}, time.perf_counter() - started
    except ModelBackendError:  # a call cut off by max_tokens
        return ERROR, {}, time.perf_counter() - started
    return NONE, {}, time.perf_counter() - started


def pct(num: int, den: int) -> str:
    return f"{num / den:.1%}" if den else "-"


def quality(con, records: list[dict], results: list[dict]) -> None:
    rows: dict[str, Counter] = {t: Counter() for t in (*TOOLS, "all")}
    for r, res in zip(records, results, strict=True):
        called = res["called"] != NONE
        for key in (r["tool"], "all"):
            c = rows[key]
            if r["label"] == "positive":
                c["pos"] += 1
                c["tp"] += called
                c["right_tool"] += res["called"] == r["tool"]
                c["args_ok"] += res["args_ok"]
            else:
                c["neg"] += 1
                c["fp"] += called
    table = make_table("Tool-call quality, embedded model, all four tools offered",
                       ["tool", "pos", "neg", "recall", "false calls", "precision", "tool type",
                        "arguments", "end to end"])
    for name, c in rows.items():
        tp, fp, pos, neg = c["tp"], c["fp"], c["pos"], c["neg"]
        table.add_row(name, str(pos), str(neg), pct(tp, pos), f"{fp}/{neg}", pct(tp, tp + fp),
                      pct(c["right_tool"], tp), pct(c["args_ok"], c["right_tool"]),
                      pct(c["args_ok"], pos), end_section=name == TOOLS[-1])
    con.print(table)
    con.print("recall = positives that called any tool; precision = those / (those + negatives that "
              "called any tool), per the record's tool; tool type = right tool among positives that "
              "called one; arguments = exact arguments (normalised, see below) among right-tool "
              "calls; end to end = positives with the right tool and arguments.")
    c = rows["all"]
    p, rc = c["tp"] / max(1, c["tp"] + c["fp"]), c["tp"] / max(1, c["pos"])
    verdict = "MET" if p >= PRECISION_GOAL and rc >= RECALL_GOAL else "NOT MET"
    con.print(f"goal: precision >= {PRECISION_GOAL:.0%} and recall >= {RECALL_GOAL:.0%} -> "
              f"precision {p:.1%}, recall {rc:.1%}: {verdict}")

    parts = make_table("By split (dev = calibration half, test = held out; all tools)",
                       ["split", "pos", "neg", "recall", "false calls", "precision", "tool type",
                        "end to end", "goal"])
    # Records added later carry a `batch`; the rows "... first set" keep the original
    # records only, comparable with runs from before they were added.
    batches = any(r.get("batch") for r in records)
    for split, first in [(s, False) for s in ("dev", "test", "all")] + (
            [(s, True) for s in ("dev", "test", "all")] if batches else []):
        sel = [(r, x) for r, x in zip(records, results, strict=True)
               if (split == "all" or r["split"] == split) and not (first and r.get("batch"))]
        pos = sum(r["label"] == "positive" for r, _ in sel)
        neg = len(sel) - pos
        tp = sum(x["called"] != NONE for r, x in sel if r["label"] == "positive")
        fp = sum(x["called"] != NONE for r, x in sel if r["label"] == "negative")
        right = sum(x["called"] == r["tool"] for r, x in sel if r["label"] == "positive")
        ok = sum(x["args_ok"] for r, x in sel if r["label"] == "positive")
        met = tp / max(1, tp + fp) >= PRECISION_GOAL and tp / max(1, pos) >= RECALL_GOAL
        parts.add_row(split + (", first set" if first else ""), str(pos), str(neg),
                      pct(tp, pos), f"{fp}/{neg}", pct(tp, tp + fp), pct(right, tp),
                      pct(ok, pos), "met" if met else "not met", end_section=split == "all")
    con.print(parts)
    argument_table(con, records, results, TOOLS, ARGUMENTS_GOAL)

    hist = make_table("By history (all tools)", ["history", "pos", "recall", "false calls",
                                                 "precision", "end to end"])
    for h in (None, "after_tool", "small_talk"):
        sel = [(r, x) for r, x in zip(records, results, strict=True) if r["history"] == h]
        tp = sum(x["called"] != NONE for r, x in sel if r["label"] == "positive")
        pos = sum(r["label"] == "positive" for r, _ in sel)
        neg = sum(r["label"] == "negative" for r, _ in sel)
        fp = sum(x["called"] != NONE for r, x in sel if r["label"] == "negative")
        ok = sum(x["args_ok"] for r, x in sel if r["label"] == "positive")
        hist.add_row(h or "none", str(pos), pct(tp, pos), f"{fp}/{neg}", pct(tp, tp + fp), pct(ok, pos))
    con.print(hist)

    conf = make_table("Confusions: what was called (rows: record's tool and label)",
                      ["record", *TOOLS, NONE, ERROR])
    matrix: dict[str, Counter] = defaultdict(Counter)
    for r, res in zip(records, results, strict=True):
        matrix[f"{r['tool']} {'+' if r['label'] == 'positive' else '-'}"][res["called"]] += 1
    for key in sorted(matrix, key=lambda k: (TOOLS.index(k[:-2]), k[-1] != "+")):
        conf.add_row(key, *(str(matrix[key][t]) for t in (*TOOLS, NONE, ERROR)))
    con.print(conf)

    errors = Counter()
    for r, res in zip(records, results, strict=True):
        if r["label"] == "negative" and res["called"] != NONE:
            errors[f"false call: {r['tool']} negative -> {res['called']}"] += 1
        elif r["label"] == "positive" and res["called"] == NONE:
            errors[f"missed: {r['tool']} -> no call"] += 1
        elif r["label"] == "positive" and res["called"] != r["tool"]:
            errors[f"wrong tool: {r['tool']} -> {res['called']}"] += 1
        elif r["label"] == "positive" and not res["args_ok"]:
            errors[f"wrong arguments: {r['tool']}"] += 1
    con.print("worst confusions: " + ("; ".join(f"{k} x{v}" for k, v in errors.most_common(8)) or "none"))
    examples = make_table("Failed records (up to 25)", ["id", "history", "request", "called",
                                                        "arguments"])
    shown = 0
    for r, res in zip(records, results, strict=True):
        bad = (r["label"] == "negative" and res["called"] != NONE) or (
            r["label"] == "positive" and not res["args_ok"])
        if bad and shown < 25:
            shown += 1
            shown_args = json.dumps(res["arguments"], ensure_ascii=False)[:40]
            for what in ("dropped", "filled"):
                if res.get(what):
                    shown_args += f" {what} " + json.dumps(res[what], ensure_ascii=False)[:30]
            examples.add_row(r["id"], r["history"] or "none", r["text"][:46], res["called"],
                             shown_args)
    con.print(examples)


def time_us(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - t0) / 1000)
    return out


async def atime_us(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        await fn()
        out.append((time.perf_counter_ns() - t0) / 1000)
    return out


async def dispatch_overhead(con, n: int) -> None:
    @tool
    async def noop_async() -> str:
        """Do nothing."""
        return "ok"

    @tool
    def noop_sync() -> str:
        """Do nothing."""
        return "ok"

    registry = ToolRegistry([noop_async, noop_sync, get_date_time])
    cases = [
        ("no-op, async", noop_async, {}),
        ("no-op, sync (worker thread)", noop_sync, {}),
        ("get_date_time(timezone='Tokyo')", get_date_time, {"timezone": "Tokyo"}),
    ]
    table = make_table(f"Dispatch overhead per call (µs), n={n} each after {n // 10} warm-up calls",
                       ["tool", "path", "p50", "p95", "mean", "p50 / direct", "p95 / direct"])
    with CpuMeter() as meter:
        for label, t, args in cases:
            if t.name == "noop_async":
                await atime_us(lambda f=t.func: f(), n // 10)
                direct = await atime_us(lambda f=t.func: f(), n)
            else:
                time_us(lambda f=t.func, a=args: f(**a), n // 10)
                direct = time_us(lambda f=t.func, a=args: f(**a), n)
            calls = [ToolCall(id="b1", name=t.name, arguments=args)]
            await atime_us(lambda: dispatch_calls(registry, calls), n // 10)
            invoke = await atime_us(lambda: registry.invoke(t.name, args, call_id="b1"), n)
            dispatch = await atime_us(lambda: dispatch_calls(registry, calls), n)
            result = (await dispatch_calls(registry, calls))[0]
            assert not result.is_error, result.content
            d = summarize(direct)
            for path, vals in (("direct function call", direct), ("ToolRegistry.invoke", invoke),
                               ("dispatch_calls", dispatch)):
                s = summarize(vals)
                table.add_row(label if path.startswith("direct") else "", path, fmt(s.p50, 1),
                              fmt(s.p95, 1), fmt(s.mean, 1),
                              f"{s.p50 / d.p50:,.0f}×" if path != "direct function call" else "1×",
                              f"{s.p95 / d.p95:,.0f}×" if path != "direct function call" else "1×",
                              end_section=path == "dispatch_calls")
    con.print(table)
    r = meter.reading
    con.print(f"direct = the tool's own function called in-process (the async no-op awaited); "
              f"invoke = validation, time limit, result rendering (sync tools via a worker thread); "
              f"dispatch_calls adds approval checks and a task per call. Cores used meanwhile: this "
              f"process {r.own_cores:.2f}, others {fmt(r.other_cores, 2)}.")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=None, help="stratified subsample size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--split", choices=("dev", "test", "all"), default="all",
                        help="which half of the labelled set to run (tune on dev only)")
    parser.add_argument("--tool", choices=TOOLS, default=None,
                        help="only the records of one tool (all four are still offered)")
    parser.add_argument("--dispatch-n", type=int, default=2000)
    parser.add_argument("--model", default="qwen2.5-0.5b-instruct",
                        help="catalog name of the LLM (qwen2.5-1.5b-instruct: extra llm-1-5b)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--skip-model", action="store_true", help="dispatch overhead only")
    parser.add_argument("--out", type=Path, default=None, help="per-record JSON")
    args = parser.parse_args()
    con = console()
    print_machine(con)
    started = time.perf_counter()
    if not args.skip_model:
        from agent.backends.llama_cpp.chat import LlamaCppChatModel
        from agent.models.cache import ModelStore

        records = [r for r in load(args.limit, args.seed, args.split)
                   if args.tool in (None, r["tool"])]
        t0 = time.perf_counter()
        model = LlamaCppChatModel(ModelStore(progress=False).resolve(args.model),
                                  n_threads=args.threads)
        load_s = time.perf_counter() - t0
        schemas = ToolRegistry(stepeval_tools(builtin_audio_library())).openai_schemas()
        assert [s["function"]["name"] for s in schemas] == list(TOOLS)
        system = ChatMessage(role="system", content=DEFAULT_PERSONA.full_system_prompt())
        t0 = time.perf_counter()
        await model.prefill(system.content, schemas)
        prefill_s = time.perf_counter() - t0
        hist = histories()
        results = []
        grounding = DroppedArguments()
        chat_log = logging.getLogger("agent.backends.llama_cpp.calls")
        chat_log.addHandler(grounding)
        chat_log.setLevel(logging.INFO)
        with CpuMeter() as meter:
            for r in records:
                messages = [system, *hist[r["history"]], ChatMessage(role="user", content=r["text"])]
                grounding.dropped, grounding.filled = {}, {}
                called, arguments, secs = await ask(model, messages, schemas)
                right = r["label"] == "positive" and called == r["tool"]
                results.append({"id": r["id"], "called": called, "arguments": arguments,
                                "args_ok": right and arguments_exact(r, arguments),
                                "args_loose": right and arguments_ok(r, arguments),
                                "seconds": secs, "dropped": grounding.dropped,
                                "filled": grounding.filled})
                if len(results) % 50 == 0:
                    print(f"  {len(results)}/{len(records)} records, "
                          f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        n_pos = sum(r["label"] == "positive" for r in records)
        con.print(f"records: {len(records)} ({n_pos} positive, {len(records) - n_pos} negative) from "
                  f"{DATA.relative_to(ROOT)} (split {args.split}); model {model.name}; decider "
                  f"{model.call_decider!r}; system prompt = DEFAULT_PERSONA; tools offered: "
                  f"{', '.join(TOOLS)}; histories: none / after a get_weather turn / after small talk")
        quality(con, records, results)
        calls = summarize([x["seconds"] * 1000 for x in results if x["called"] not in (NONE, ERROR)])
        texts = summarize([x["seconds"] * 1000 for x in results if x["called"] == NONE])
        rd = meter.reading
        con.print(f"time to the decision (ms): call complete p50 {fmt(calls and calls.p50)} / p95 "
                  f"{fmt(calls and calls.p95)} (n={calls.n if calls else 0}); first text p50 "
                  f"{fmt(texts and texts.p50)} / p95 {fmt(texts and texts.p95)} "
                  f"(n={texts.n if texts else 0}). Model load {load_s:.2f} s, prefix prefill "
                  f"{prefill_s:.2f} s; cores used: this process {rd.own_cores:.2f}, others "
                  f"{fmt(rd.other_cores, 2)}.")
        if args.out:
            args.out.write_text(json.dumps({"records": records, "results": results}, indent=1))
    await dispatch_overhead(con, args.dispatch_n)
    con.print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    asyncio.run(main())
