"""Tool-call triggering of the embedded model: precision and recall of "call get_date_time".

22 user messages (10 need the clock, 12 do not), each asked with three histories: none, after
a tool turn, after a small-talk turn. Two deciders in the same run:

- `sampled`: the model's own first token, sampled as plain generation would (temperature 0.3);
- `odds 0.88`: the first-token odds of a call (with history, or the message alone) against
  0.88, the decision before the semantic prior;
- `stepvox`: `LlamaCppChatModel.wants_tool_call`, the fitted `CallCombiner` of
  `agent.tool_choice.decision` (the odds plus the MiniLM prior), as a turn uses it.

    .venv/bin/python bench/tool_trigger.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from agent.chat_model import ChatMessage, ToolCall  # noqa: E402
from agent.tool_choice.decision import OddsThreshold  # noqa: E402
from agent.backends.llama_cpp.chatml_prompt import render_turn_prompt  # noqa: E402
from agent.backends.llama_cpp.chat import LlamaCppChatModel  # noqa: E402
from agent.models.cache import ModelStore  # noqa: E402
from agent.models.catalog import DEFAULT_MODELS  # noqa: E402
from bench.machine import machine_line  # noqa: E402
from personas import DEFAULT_PERSONA  # noqa: E402
from tools import ToolRegistry, builtin_tools  # noqa: E402

NEEDS_CLOCK = [
    "What time is it?", "What's the date today?", "What day of the week is it?",
    "What time is it in Tokyo?", "Can you tell me today's date?",
    "Is it morning or evening in London right now?", "What year is it?", "How late is it?",
    "Do you know the current time in New York?", "Which month are we in?",
]
NO_TOOL = [
    "Hi, how are you?", "My name is Alice.", "Thanks, bye!", "Tell me a fun fact about the moon.",
    "How do I boil an egg?", "What's your name?", "Can you recommend a good book?",
    "What is the capital of France?", "I had a long day at work.", "Tell me a joke.",
    "What does a time zone mean?", "How many days are there in a week?",
]


def histories() -> dict[str, list[ChatMessage]]:
    call = ToolCall(id="c1", name="get_date_time", arguments={"timezone": "UTC"})
    return {
        "no history": [],
        "after a tool turn": [
            ChatMessage(role="user", content="What time is it?"),
            ChatMessage(role="assistant", tool_calls=[call]),
            ChatMessage(role="tool", tool_call_id="c1", name="get_date_time",
                        content='{"spoken": "It is 9:00 AM on Wednesday (UTC)."}'),
            ChatMessage(role="assistant", content="It is 9:00 AM on Wednesday."),
        ],
        "after small talk": [
            ChatMessage(role="user", content="Tell me a fun fact about the moon."),
            ChatMessage(role="assistant", content="The moon has no atmosphere."),
        ],
    }


def sampled_call(model: LlamaCppChatModel, prompt: str) -> bool:
    out = model._llm.create_completion(prompt, max_tokens=1, temperature=0.3, top_p=0.9)
    return out["choices"][0]["text"].lstrip()[:1] in ("{", "<")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3, help="samples per prompt (sampled)")
    args = parser.parse_args()
    console = Console(width=118)
    console.print(machine_line())
    model = LlamaCppChatModel(ModelStore(progress=False).resolve(DEFAULT_MODELS["llm"]))
    schemas = ToolRegistry(builtin_tools()).openai_schemas()
    system = ChatMessage(role="system", content=DEFAULT_PERSONA.full_system_prompt())
    table = Table(title="Tool trigger: get_date_time, packaged Qwen2.5-Coder-0.5B")
    # No timing column: alternating deciders and histories defeats the KV cache, so time per
    # decision here says nothing about a turn; bench/turn_latency.py measures that.
    for col in ("history", "decider", "recall", "false calls", "precision"):
        table.add_column(col, justify="left" if col in ("history", "decider") else "right")
    deciders = ("sampled", "odds 0.88", "stepvox")
    totals = {d: [0, 0, 0, 0] for d in deciders}  # tp, fn, fp, tn
    for name, history in histories().items():
        for decider in deciders:
            tp = fn = fp = tn = 0
            for text, positive in [(q, True) for q in NEEDS_CLOCK] + [(q, False) for q in NO_TOOL]:
                messages = [system, *history, ChatMessage(role="user", content=text)]
                prompt = render_turn_prompt(messages, schemas)
                reps = args.repeats if decider == "sampled" else 1
                for _ in range(reps):
                    if decider == "sampled":
                        called = sampled_call(model, prompt)
                    elif decider == "odds 0.88":
                        called = OddsThreshold(threshold=0.88).decide(
                            model.call_features(messages, schemas, prompt))
                    else:
                        called = model.wants_tool_call(messages, schemas, prompt)
                    tp += called and positive
                    fn += (not called) and positive
                    fp += called and not positive
                    tn += (not called) and not positive
            for i, v in enumerate((tp, fn, fp, tn)):
                totals[decider][i] += v
            table.add_row(name, decider, f"{tp}/{tp + fn}", f"{fp}/{fp + tn}",
                          f"{tp / (tp + fp):.2f}" if tp + fp else "-")
    for decider, (tp, fn, fp, tn) in totals.items():
        table.add_row("[b]all[/b]", decider, f"{tp / (tp + fn):.1%}", f"{fp}/{fp + tn}",
                      f"{tp / (tp + fp):.1%}" if tp + fp else "-")
    console.print(table)
    console.print("Targets: precision >= 92 %, recall >= 97 %.")


if __name__ == "__main__":
    main()
