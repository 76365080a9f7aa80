"""`stepvox tools try "request" [--persona K] [--profile P] [--json]`: one request through the
embedded model's call decision, shown the way a plugin author needs it: which tool, with
which arguments, the model's odds and the prior's cosines behind it, or why no call.

Registered on the `tools` sub-app by `agent.cli.main` (the tools package stays free of the agent).
Loads only the LLM and MiniLM: no speech models.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from agent.tool_choice.report import CallReport
from agent.chat_model import ChatMessage, TextDelta, ToolCallEvent
from agent.models.catalog import llm_for_profile
from agent.settings import StepvoxSettings


async def try_request(settings: StepvoxSettings, request: str,
                      persona_name: str | None = None) -> tuple[CallReport | None, str]:
    """The call report for `request` as the persona's agent would decide it, and the start
    of the text answer when no call was made."""
    from agent.models.store import model_store
    from agent.backends.llama_cpp.chat import LlamaCppChatModel
    from agent.setup.tools import tools_for
    from personas import DEFAULT_PERSONA, PersonaLibrary

    persona = (PersonaLibrary.for_user().get(persona_name) if persona_name
               else DEFAULT_PERSONA)
    registry = tools_for(persona)
    path = model_store(settings, progress=False).resolve_for_role("llm")
    model = LlamaCppChatModel(path, n_threads=settings.threads, estimate_turn_end=False)
    model.learn_tool_examples(registry.examples())
    messages = [ChatMessage(role="system", content=persona.full_system_prompt()),
                ChatMessage(role="user", content=request)]
    text, call = "", None
    async for event in model.stream(messages, registry.openai_schemas()):
        if isinstance(event, ToolCallEvent):
            call = event.call
            break
        if isinstance(event, TextDelta):
            text += event.text
            if len(text.split()) > 12:  # enough to show what the answer is
                break
    report = model.last_call_report()
    if report is not None and call is not None:
        report = report.model_copy(update={"tool": call.name, "arguments": call.arguments})
    return report, text.strip()


def print_report(console: Console, request: str, report: CallReport | None, text: str) -> None:
    console.print(f"[bold]request[/]: {request}")
    if report is None:
        console.print("no tools are offered, so no call was considered")
        console.print(f"[bold]answer starts[/]: {text}")
        return
    table = Table(title="Offered tools, as the decision saw them")
    for column in ("tool", "cosine (examples or description)", "cosine (description)",
                   "known by", "model's name odds"):
        table.add_column(column)
    for name, cos in sorted(report.by_tool.items(), key=lambda kv: -kv[1]):
        known = "description only" if name in report.described_only else "examples"
        odds = report.name_probabilities.get(name)
        table.add_row(name, f"{cos:.3f}", f"{report.by_description.get(name, 0.0):.3f}",
                      known, "" if odds is None else f"{odds:.3f}")
    console.print(table)
    console.print(f"model's call odds: {report.with_history:.3f} with history, "
                  f"{report.alone:.3f} alone; closest no-tool request: "
                  f"{report.no_tool if report.no_tool is not None else float('nan'):.3f}")
    if report.examples_probability is not None:
        console.print(f"examples decision: P(call) {report.examples_probability:.3f} "
                      f"(threshold {report.examples_threshold})")
    if report.described_probability is not None:
        console.print(f"description decision: P(call) {report.described_probability:.3f} "
                      f"(threshold {report.described_threshold})")
    if report.described_odds_floor is not None:
        console.print(f"a described-only tool nearest also needs the model's call odds "
                      f">= {report.described_odds_floor}")
    if report.sure_odds is not None:
        console.print(f"or it is called on the model's certainty: call odds >= "
                      f"{report.sure_odds} with a description cosine >= {report.sure_cosine}")
    console.print(f"[bold]verdict[/]: {report.reason()}")
    if report.called:
        console.print(f"[bold]arguments[/]: {report.arguments}")
    else:
        console.print(f"[bold]answer starts[/]: {text}")


def tools_try(
    request: Annotated[str, typer.Argument(help="What a user might say.")],
    persona: Annotated[Optional[str], typer.Option(
        "--persona", help="Decide with this persona's tools (see `stepvox personas list`).")
    ] = None,
    profile: Annotated[Optional[str], typer.Option(
        "--profile", help="'default' (0.5B) or 'quality' (1.5B).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Show how the embedded model decides one request: the tool, its arguments, the odds
    and cosines behind the choice, or why no call was made."""
    settings = StepvoxSettings()
    if profile is not None:
        llm_for_profile(profile)  # an unknown profile is named here, before any loading
        settings = settings.model_copy(update={"profile": profile})
    report, text = asyncio.run(try_request(settings, request, persona))
    if as_json:
        payload = {"request": request, "report": None if report is None else
                   report.model_dump(), "reason": None if report is None else report.reason(),
                   "answer_starts": text}
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    print_report(Console(), request, report, text)
