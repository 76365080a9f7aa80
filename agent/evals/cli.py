"""`stepvox eval scenarios PATH`: run customer-service scenarios with a simulated caller,
print a results table and write JSON lines. Registered on the main app by `agent.cli.main`;
models load inside the command, so `stepvox --help` stays fast."""

from __future__ import annotations

import asyncio
import fnmatch
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

eval_app = typer.Typer(help="Evaluate agents on whole simulated calls.", no_args_is_help=True)


@eval_app.command("scenarios")
def scenarios(
    path: Annotated[Path, typer.Argument(help="A scenario YAML file or a folder of them.")],
    trials: Annotated[int, typer.Option("--trials", "-k", min=1,
                                        help="Runs per scenario; the table reports pass^k.")] = 1,
    caller: Annotated[str, typer.Option(
        "--caller", help="'scripted' (the scenario's fixed turns; deterministic) or 'llm' "
        "(a model plays the caller's goal).")] = "scripted",
    voice: Annotated[bool, typer.Option(
        "--voice", help="The caller speaks through the TTS; the agent hears through its ASR.")] = False,
    realtime: Annotated[bool, typer.Option(
        "--realtime", help="Calls go through the /v1/realtime server on loopback, voice in and "
        "out, turn-taking by its VAD; lines marked barge_in talk over the reply.")] = False,
    barge_in: Annotated[bool, typer.Option(
        "--barge-in", help="With --realtime: the caller talks over every reply.")] = False,
    barge_in_after_ms: Annotated[int, typer.Option(
        "--barge-in-after-ms", min=0, help="How much of a reply plays before a barge-in.")] = 1500,
    judge: Annotated[bool, typer.Option(
        "--judge", help="An LLM judges the replies (polite, no invented facts, answered); "
        "reported beside success, never deciding it. Default model: the agent's.")] = False,
    judge_profile: Annotated[Optional[str], typer.Option(
        "--judge-profile", help="The judge on this packaged profile (implies --judge).")] = None,
    judge_base_url: Annotated[Optional[str], typer.Option(
        "--judge-base-url", help="The judge on this OpenAI-compatible server (implies --judge).")] = None,
    profile: Annotated[Optional[str], typer.Option(
        "--profile", help="The agent's packaged LLM: 'default' (0.5B) or 'quality' (1.5B).")] = None,
    model: Annotated[str, typer.Option(
        "--model", help="'embedded', or 'openai' with --base-url (any OpenAI-compatible server).")] = "embedded",
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="The server's /v1 URL.")] = None,
    caller_profile: Annotated[Optional[str], typer.Option(
        "--caller-profile", help="An llm caller on this packaged profile (default: the agent's model).")] = None,
    caller_base_url: Annotated[Optional[str], typer.Option(
        "--caller-base-url", help="An llm caller on this OpenAI-compatible server.")] = None,
    only: Annotated[Optional[str], typer.Option(
        "--only", help="Run the scenarios whose name or a tag matches this pattern (fnmatch).")] = None,
    jsonl: Annotated[Optional[Path], typer.Option(
        "--jsonl", help="Write one JSON line per trial here (default: scenario-results.jsonl).")] = None,
    threads: Annotated[Optional[int], typer.Option("--threads", help="CPU threads for the models.")] = None,
) -> None:
    """Run scenarios and print success, pass^k, policy violations, turns, tool errors and
    latency per scenario. Exit 0 when the run completed, whatever the scores (a bench),
    1 when a scenario file is wrong."""
    from agent.evals.format import ScenarioFormatError, load_scenarios
    from agent.models.errors import ModelError

    # A table piped to a file or a test keeps its columns readable (rich would wrap at 80).
    console = Console(width=None if sys.stdout.isatty() else 200)
    err = Console(stderr=True)
    try:
        found = load_scenarios(path)
    except ScenarioFormatError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    if only:
        found = [s for s in found if fnmatch.fnmatch(s.name, only)
                 or any(fnmatch.fnmatch(t, only) for t in s.tags)]
        if not found:
            err.print(f"[red]no scenario in {path} matches {only!r}[/]")
            raise typer.Exit(1)
    if caller not in ("scripted", "llm"):
        err.print(f"[red]--caller must be 'scripted' or 'llm', not {caller!r}[/]")
        raise typer.Exit(2)
    if caller == "scripted":
        unscripted = [s.name for s in found if not s.caller.turns]
        if unscripted:
            err.print(f"[red]scenarios without caller.turns cannot use --caller scripted: "
                      f"{', '.join(unscripted)}[/]")
            raise typer.Exit(1)
    try:
        settings = _settings(model, base_url, profile, threads)
        judge_settings = None
        if judge or judge_profile or judge_base_url:
            judge_settings = _caller_settings(judge_profile, judge_base_url, threads) or settings
        results = asyncio.run(_run(found, trials=trials, caller=caller, voice=voice,
                                   realtime=_realtime(realtime, barge_in, barge_in_after_ms),
                                   settings=settings, judge_settings=judge_settings,
                                   caller_settings=_caller_settings(caller_profile, caller_base_url, threads),
                                   jsonl=jsonl or Path("scenario-results.jsonl"), console=console))
    except (ScenarioFormatError, ModelError, ValueError) as exc:
        err.print(f"[red]{type(exc).__name__}: {exc}[/]")
        raise typer.Exit(1) from None
    from agent.evals.report import results_table

    mode = ", realtime" if realtime else ", voice" if voice else ""
    console.print(results_table(results, title=f"Scenarios: {path} ({caller} caller{mode})"))


def _realtime(on: bool, barge_in: bool, after_ms: int):
    if not on:
        if barge_in:
            raise typer.BadParameter("--barge-in needs --realtime (text and --voice calls "
                                     "have no playback to talk over)")
        return None
    from agent.evals.runner import RealtimeOptions

    return RealtimeOptions(barge_in_all=barge_in, barge_in_after_ms=after_ms)


def _settings(model: str, base_url: str | None, profile: str | None, threads: int | None):
    from agent.settings import StepvoxSettings

    env = StepvoxSettings()
    update = {"model": model, "base_url": base_url or env.base_url, "profile": profile or env.profile}
    if threads is not None:
        update["threads"] = threads
    return StepvoxSettings.model_validate({**env.model_dump(), **update})


def _caller_settings(profile: str | None, base_url: str | None, threads: int | None):
    if profile is None and base_url is None:
        return None
    return _settings("openai" if base_url else "embedded", base_url, profile, threads)


async def _run(found, *, trials, caller, voice, realtime, settings, judge_settings,
               caller_settings, jsonl, console):
    from agent.evals.backends import load_backend, load_judge
    from agent.evals.report import write_jsonl
    from agent.evals.runner import ScenarioRunner

    with console.status("loading the models..."):
        backend = load_backend(settings, voice=voice or realtime is not None,
                               caller_settings=caller_settings)
        judge = load_judge(judge_settings) if judge_settings is not None else None
    runner = ScenarioRunner(backend, caller=caller, voice=voice, realtime=realtime, judge=judge)
    total = len(found) * trials
    with jsonl.open("w", encoding="utf-8") as out:
        def progress(result) -> None:
            write_jsonl(result, out)
            done = progress.count = getattr(progress, "count", 0) + 1
            print(f"[{done}/{total}] {result.scenario} trial {result.trial + 1}: "
                  f"{'ok' if result.success else 'failed'} ({result.wall_s:.0f} s)",
                  file=sys.stderr, flush=True)

        results = await runner.run(found, trials=trials, on_result=progress)
    console.print(f"[dim]{len(results)} trials written to {jsonl}[/]")
    return results
