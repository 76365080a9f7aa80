"""The `stepvox` command line."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from agent.cli.errors import USER_ERRORS, exit_with
from agent.models.catalog import llm_for_profile
from agent.settings import StepvoxSettings

app = typer.Typer(help="stepvox: voice agents on the Step-Audio model family, offline by default.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
from agent.cli.history import history_app  # noqa: E402
from agent.cli.personas import personas_app  # noqa: E402
from agent.cli.say import say  # noqa: E402
from agent.cli.serve import serve  # noqa: E402
from agent.cli.tools_try import tools_try  # noqa: E402
from tools.cli_app import tools_app  # noqa: E402

app.add_typer(history_app, name="history")
tools_app.command("try")(tools_try)
app.add_typer(tools_app, name="tools")
app.add_typer(personas_app, name="personas")
from agent.cli.bench import bench_app  # noqa: E402
app.add_typer(bench_app, name="bench")
from agent.evals.cli import eval_app; app.add_typer(eval_app, name="eval")  # noqa: E402,E702
app.command("say")(say)
app.command("serve")(serve)
console = Console()
err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        from agent import __version__

        console.print(f"stepvox {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None,
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show full tracebacks for errors.")] = False,
) -> None:
    ctx.obj = {"debug": debug}


AsrOption = Annotated[str, typer.Option(
    "--asr", help="'base', 'tiny.en' (faster), a local Whisper directory or a HF id.")]
ModelOption = Annotated[str, typer.Option(
    "--model", help="'embedded' (packaged LLM), 'openai' (any OpenAI-compatible server: vLLM, "
    "SGLang, llama.cpp, Ollama; needs --base-url or STEPVOX_LLM_URL) or a Step-Audio backend, "
    "e.g. step-audio-2-mini.")]
BaseUrlOption = Annotated[Optional[str], typer.Option(
    "--base-url", help="The model server's OpenAI-compatible URL, ending in /v1.")]
ServedNameOption = Annotated[Optional[str], typer.Option(
    "--served-name", help="The name the server serves the model as (default: --model; for "
    "'openai', the model GET /v1/models lists).")]
ProfileOption = Annotated[Optional[str], typer.Option(
    "--profile", help="Which packaged LLM: 'default' (0.5B, fastest) or 'quality' (1.5B, "
    "extra llm-1-5b). Default: STEPVOX_PROFILE, else 'default'.")]
TokenizerDirOption = Annotated[Optional[Path], typer.Option(
    "--tokenizer-dir", envvar="STEPVOX_TOKENIZER_DIR", help="A Step-Audio-Tokenizer folder: "
    "step-audio-chat hears the user's speech as <audio_N> tokens.")]


def _settings(asr: str, model: str = "embedded", base_url: str | None = None,
              served_name: str | None = None, profile: str | None = None) -> StepvoxSettings:
    """CLI options on top of STEPVOX_* environment variables (an option left at its default
    keeps the environment's value)."""
    env = StepvoxSettings()
    if profile is not None:
        llm_for_profile(profile)  # model_copy does not validate: name a bad profile here
    updates = {"asr_model": asr if asr != "base" else env.asr_model,
               "model": model if model != "embedded" else env.model,
               "base_url": base_url or env.base_url,
               "served_name": served_name or env.served_name,
               "profile": profile or env.profile}
    return env.model_copy(update=updates)


@app.command()
def models(
    ctx: typer.Context,
    asr: AsrOption = "base",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    profile: ProfileOption = None,
) -> None:
    """List the embedded models: role, source package, path, size, sha256, status."""
    from agent.cli.models import print_models

    with _guard(ctx):
        print_models(_settings(asr, profile=profile), console, as_json=as_json)


@app.command()
def chat(
    ctx: typer.Context,
    text: Annotated[Optional[str], typer.Option("--text", help="Say this and exit.")] = None,
    audio: Annotated[Optional[Path], typer.Option(
        "--audio", help="Answer this recording (WAV/FLAC/OGG, any rate) and exit.")] = None,
    out: Annotated[Optional[Path], typer.Option(
        "--out", help="Write the reply audio here (one-shot default: reply.wav).")] = None,
    out_dir: Annotated[Path, typer.Option(
        "--out-dir", help="Where the interactive session writes each reply WAV.")] = Path(
            "stepvox-replies"),
    timings: Annotated[bool, typer.Option("--timings", help="Show per-stage timings.")] = False,
    asr: AsrOption = "base",
    model: ModelOption = "embedded",
    base_url: BaseUrlOption = None,
    served_name: ServedNameOption = None,
    tokenizer_dir: TokenizerDirOption = None,
    conversation: Annotated[Optional[str], typer.Option(
        "--conversation", help="Conversation id (default: a new one).")] = None,
    persona: Annotated[Optional[str], typer.Option(
        "--persona", help="Who the agent is (see `stepvox personas list`).")] = None,
    user: Annotated[Optional[str], typer.Option(
        "--user", help="Who is calling: their history and name are kept per user.")] = None,
    profile: ProfileOption = None,
) -> None:
    """Talk to the embedded agent: one turn with --text/--audio, else an interactive REPL."""
    from agent.cli.chat_session import ChatSession

    if text is not None and audio is not None:
        exit_with(err, "pass --text or --audio, not both", code=2)
    with _guard(ctx):
        if tokenizer_dir is not None:
            from agent.backends.step_audio.files import use_tokenizer_dir

            use_tokenizer_dir(tokenizer_dir)
        session = ChatSession(_settings(asr, model, base_url, served_name, profile), console,
                              timings=timings, persona=persona, user_id=user,
                              conversation_id=conversation or uuid.uuid4().hex)
        if text is None and audio is None:
            asyncio.run(session.repl(out_dir))
            return
        asyncio.run(session.one_turn(text=text, audio=audio, out=out or Path("reply.wav")))


@app.command()
def demo(
    ctx: typer.Context,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Where reply WAVs go.")] = Path(
        "demo-out"),
    asr: AsrOption = "base",
    model: ModelOption = "embedded",
    base_url: BaseUrlOption = None,
    served_name: ServedNameOption = None,
    profile: ProfileOption = None,
) -> None:
    """Speak a short scripted conversation on the embedded models and print the latencies."""
    from agent.cli.demo import run_demo

    with _guard(ctx):
        asyncio.run(run_demo(_settings(asr, model, base_url, served_name, profile), console,
                             out_dir))


@app.command()
def doctor(
    ctx: typer.Context,
    asr: AsrOption = "base",
    model: ModelOption = "embedded",
    base_url: BaseUrlOption = None,
    served_name: ServedNameOption = None,
    tokenizer_dir: TokenizerDirOption = None,
    profile: ProfileOption = None,
) -> None:
    """Check the configured models: packaged files, or that the Step-Audio server answers."""
    from agent.cli.doctor import run_doctor

    with _guard(ctx):
        if tokenizer_dir is not None:
            from agent.backends.step_audio.files import use_tokenizer_dir

            use_tokenizer_dir(tokenizer_dir, check=False)  # doctor reports what is missing
        ok = asyncio.run(run_doctor(_settings(asr, model, base_url, served_name, profile),
                                    console))
    if not ok:
        raise typer.Exit(1)


class _guard:
    """Named user errors -> one red line and exit 1; tracebacks only with --debug."""

    def __init__(self, ctx: typer.Context) -> None:
        self.debug = bool(ctx.obj and ctx.obj.get("debug"))

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None or isinstance(exc, (typer.Exit, typer.Abort, SystemExit)):
            return False
        if isinstance(exc, KeyboardInterrupt):
            err.print("[yellow]interrupted[/]")
            raise typer.Exit(130)
        if self.debug:
            return False
        if isinstance(exc, USER_ERRORS):
            exit_with(err, f"{type(exc).__name__}: {exc}")
        exit_with(err, f"unexpected {type(exc).__name__}: {exc}\n"
                  "run again with --debug for the traceback")
        return False


if __name__ == "__main__":
    sys.exit(app())
