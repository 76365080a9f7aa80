"""Turns that fire a persona's keyed lore: time to the first words, lore as a system line
before the caller's words (shipped) against lore inside the system prompt (the layout before).

A keyed lore entry ("Pets: dogs and cats up to 8 kg ... 50 euros") joins the prompt only on
the turns whose words fire it. Inside the system prompt, it changed the prompt in the middle,
and llama.cpp evaluated everything after it again: the examples, the speaking rules and the
tool list. The questions, some firing lore and some not, are asked of the same `VoiceAgent`
(text in, no speech, a fresh conversation each) in a block per layout, the blocks' order
turned round each round so the shared machine's load falls on both alike; the old layout is
`Persona.turn_prompt_parts` put back to one system message with the lore in place. Questions
that fire no lore get the same prompt in both layouts: the same-run reference.

    .venv/bin/python bench/lore_turns.py                    # SkyWay desk and Captain Bram
    .venv/bin/python bench/lore_turns.py --personas skyway-agent --rounds 2 --verbose

A benchmark, never a test: it asserts nothing. Needs the `embedded` extra (the models).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the models ship inside packages; never the hub

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import machine_line  # noqa: E402
from bench.stats import console, fmt, make_table, summarize  # noqa: E402

# Per persona: requests whose words fire a keyed lore entry, then requests that fire none.
QUESTIONS = {
    "skyway-agent": (
        ["Can I bring my dog on the plane?", "How much does it cost to fly with a cat?",
         "My flight was delayed by four hours, do I get compensation?",
         "Is there a limit on how many pets can be on one flight?",
         "What happens if my flight is late?", "Can my small animal travel in the cabin?"],
        ["How much is a second checked bag?", "Can I change my flight for free?",
         "How heavy can my cabin bag be?", "What do I get if SkyWay cancels my flight?"]),
    "captain-bram": (
        ["Tell me about the Marigold.", "Have you ever seen a kraken?",
         "What was your first ship like?", "Are there sea serpents out there?"],
        ["What's the best way to tie a knot?", "Do you like the sea at night?"]),
}


def old_layout(persona, recent, *, user_name: str = "User") -> tuple[str, str]:
    """The layout before: every fired entry inside the system prompt, no separate line."""
    return persona.full_system_prompt(recent, user_name=user_name), ""


async def ask(agent, text: str) -> tuple[float, float, str]:
    """(ms to the first words, ms to the turn's end, the reply) for one fresh conversation."""
    from agent.events import TextDeltaEvent, TurnDoneEvent

    start, first, reply = time.perf_counter(), None, ""
    async for event in agent.stream(text, conversation_id=f"lore-{time.monotonic_ns()}"):
        if isinstance(event, TextDeltaEvent) and first is None and event.text.strip():
            first = time.perf_counter()
        elif isinstance(event, TurnDoneEvent):
            reply = event.reply.text
    end = time.perf_counter()
    return 1000 * ((first or end) - start), 1000 * (end - start), reply


async def run(args) -> None:
    from agent.settings import StepvoxSettings
    from agent.setup.embedded_stack import load_embedded_stack
    from agent.setup.tools import tools_for
    from agent.voice_agent import VoiceAgent
    from personas.persona import Persona
    from personas.persona_library import PersonaLibrary

    out = console()
    out.print(machine_line())
    stack = load_embedded_stack(StepvoxSettings(), progress=False)
    shipped = Persona.turn_prompt_parts
    rows: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for key in args.personas.split(","):
        persona = PersonaLibrary.for_user().get(key)
        agent = VoiceAgent.from_stack(stack, None, persona=persona, tools=tools_for(persona))
        await agent.warm_up()
        fired, quiet = QUESTIONS[key]
        # Lore and no-lore requests mixed, as a caller would ask them.
        mixed = [("fires lore", q) for q in fired] + [("no lore", q) for q in quiet]
        mixed = mixed[::2] + mixed[1::2]
        for round_ in range(args.rounds):
            # Each layout asks the whole list in a block (the cache then holds that layout's
            # prompts, as in use), the blocks' order turned round every round. The block's
            # first ask, a no-lore request, is not counted: it pays for the other layout's
            # prompt left in the cache.
            order = ["note", "in system prompt"][::(-1) ** round_]
            for layout in order:
                Persona.turn_prompt_parts = shipped if layout == "note" else old_layout
                try:
                    await ask(agent, quiet[0])
                    for kind, text in mixed:
                        first, whole, reply = await ask(agent, text)
                        rows.setdefault((key, kind, layout), []).append((first, whole))
                        if args.verbose:
                            out.print(f"[{key}] {layout:17} {first:7.0f} {whole:7.0f} ms  "
                                      f"{text!r} -> {reply!r}")
                finally:
                    Persona.turn_prompt_parts = shipped
    table = make_table("Keyed lore: ms from the caller's text to the first words / to the end",
                       ["persona, request", "lore", "n", "first p50", "first p95",
                        "end p50", "end p95"], numeric_from=2)
    for (key, kind, layout), values in rows.items():
        first = summarize(v[0] for v in values)
        whole = summarize(v[1] for v in values)
        table.add_row(f"{key}, {kind}", layout, str(first.n), fmt(first.p50), fmt(first.p95),
                      fmt(whole.p50), fmt(whole.p95))
    out.print(table)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--personas", default="skyway-agent,captain-bram",
                   help=f"comma-separated, of: {', '.join(QUESTIONS)}")
    p.add_argument("--rounds", type=int, default=2,
                   help="blocks per layout (default 2: note first, then the other first)")
    p.add_argument("--verbose", action="store_true", help="print each turn")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
