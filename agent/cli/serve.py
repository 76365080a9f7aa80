"""`stepvox serve`: the realtime websocket server and its browser page on the embedded models.

Registered in `agent/cli/main.py` as `app.command()(serve)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from agent.voice_agent import VoiceAgent

err = Console(stderr=True)


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8765,
    token: Annotated[Optional[str], typer.Option(
        "--token", envvar="STEPVOX_TOKEN",
        help="Access token (?token=... or 'Authorization: Bearer'); required off loopback.")
    ] = None,
    asr: Annotated[str, typer.Option(
        "--asr", help="'base', 'tiny.en' (faster), a local Whisper directory or a HF id.")] = "base",
    vad: Annotated[str, typer.Option("--vad", help="'silero' or 'energy' (a loudness gate).")
                   ] = "silero",
    persona_dir: Annotated[Optional[Path], typer.Option(
        "--persona-dir", help="A folder of extra persona files sessions may pick.")] = None,
    max_sessions: Annotated[int, typer.Option("--max-sessions", help="Concurrent sessions.")] = 8,
    max_session_s: Annotated[float, typer.Option(
        "--max-session-s", help="Longest session in seconds.")] = 1800.0,
    warm_up: Annotated[bool, typer.Option("--warm-up/--no-warm-up",
                                          help="Warm the models before serving.")] = True,
    metrics: Annotated[bool, typer.Option(
        "--metrics", help="Serve Prometheus metrics at /metrics (needs prometheus-client, "
        "in the 'server' extra).")] = False,
    profile: Annotated[Optional[str], typer.Option(
        "--profile", help="Which packaged LLM: 'default' (0.5B, fastest) or 'quality' (1.5B, "
        "extra llm-1-5b). Default: STEPVOX_PROFILE, else 'default'.")] = None,
    model: Annotated[Optional[str], typer.Option(
        "--model", help="'embedded' (packaged LLM), 'openai' (an OpenAI-compatible server such "
        "as vLLM; needs --base-url) or a Step-Audio backend. Default: STEPVOX_MODEL, else "
        "'embedded'.")] = None,
    base_url: Annotated[Optional[str], typer.Option(
        "--base-url", help="The model server's OpenAI-compatible URL, ending in /v1.")] = None,
    served_name: Annotated[Optional[str], typer.Option(
        "--served-name", help="The name the model server serves the model as.")] = None,
    database_url: Annotated[Optional[str], typer.Option(
        "--database-url", envvar="STEPVOX_DATABASE_URL",
        help="History database: a SQLite path or 'postgresql://user@host/db'. Workers that "
        "share one PostgreSQL database can continue each other's conversations.")] = None,
    redis_url: Annotated[Optional[str], typer.Option(
        "--redis-url", envvar="STEPVOX_REDIS_URL",
        help="Redis for signals between workers (take-over, cancel, approvals), e.g. "
        "redis://127.0.0.1:6379/0. Unset: this process only.")] = None,
    tokens_file: Annotated[Optional[Path], typer.Option(
        "--tokens-file", envvar="STEPVOX_TOKENS_FILE",
        help="A JSON object of user id -> token: each token names a user, who owns the "
        "conversations they create.")] = None,
    drain_timeout: Annotated[float, typer.Option(
        "--drain-timeout", help="On SIGTERM: seconds live sessions get to finish their turn "
        "before the worker exits (new sessions are refused at once).")] = 30.0,
) -> None:
    """Serve the realtime voice loop: websocket at /v1/realtime, browser page at /."""
    from agent.realtime.cluster.identity import TokensFileError, load_user_tokens
    from agent.realtime.server import is_loopback

    try:
        user_tokens = load_user_tokens(tokens_file) if tokens_file is not None else {}
    except TokensFileError as exc:
        err.print(str(exc), style="red", markup=False)
        raise typer.Exit(2) from None
    if not is_loopback(host) and not (token or user_tokens):
        err.print(f"[red]refusing to serve on {host} without a token[/]: pass --token "
                  "(or STEPVOX_TOKEN) or --tokens-file, or bind 127.0.0.1")
        raise typer.Exit(2)
    if vad not in ("silero", "energy"):
        err.print(f"[red]--vad must be 'silero' or 'energy', got {vad!r}[/]")
        raise typer.Exit(2)
    if metrics:
        try:
            import prometheus_client  # noqa: F401
        except ImportError:
            err.print("[red]--metrics needs prometheus-client[/]: pip install 'stepvox[server]'")
            raise typer.Exit(2) from None
    if redis_url:
        try:
            import redis  # noqa: F401
        except ImportError:
            err.print("[red]--redis-url needs redis[/]: pip install 'stepvox[server]'")
            raise typer.Exit(2) from None

    import uvicorn

    from agent.setup.language_voices import LanguageVoices
    from agent.models.catalog import UnknownProfileError
    from agent.realtime.persona_agents import PersonaAgents
    from agent.realtime.protocol import SessionLimits
    from agent.realtime.server import RealtimeServerConfig, create_app
    from agent.settings import StepvoxSettings
    from personas import PersonaLibrary

    given = {"profile": profile, "model": model, "base_url": base_url,
             "served_name": served_name, "database_url": database_url}
    try:
        settings = StepvoxSettings(asr_model=asr, **{k: v for k, v in given.items() if v})
    except UnknownProfileError as exc:
        err.print(str(exc), style="red", markup=False)
        raise typer.Exit(2) from None
    agent = load_serving_agent(settings)
    library = PersonaLibrary.for_user(persona_dir)
    limits = SessionLimits(max_session_s=max_session_s)
    config = RealtimeServerConfig(token=token, limits=limits, vad=vad, max_sessions=max_sessions,
                                  warm_up=warm_up, metrics=metrics, user_tokens=user_tokens,
                                  redis_url=redis_url, drain_timeout_s=drain_timeout)
    # A session that picks a zh persona (小跃) gets Whisper listening for Chinese and the
    # Mandarin voice, sharing the loaded models (agent/setup/language_voices.py).
    voices = LanguageVoices(settings)
    app = create_app(PersonaAgents(agent, library, voices=voices), config)
    shown = "localhost" if is_loopback(host) else host
    err.print(f"stepvox realtime on http://{shown}:{port}/ "
              f"(websocket ws://{shown}:{port}/v1/realtime{'?token=...' if token else ''}"
              f"{f', metrics http://{shown}:{port}/metrics' if metrics else ''})")
    # Messages over the limit get an `error` event and the session goes on; past 16 MiB
    # the websocket layer closes the connection (1009) before buffering them. (1 MiB of
    # "é" is 3 MiB JSON-escaped: a 2 MiB cap closed the socket in issue #22's acceptance
    # check, tests/faults/test_acceptance_serve.py.)
    # The first SIGTERM drains: no new sessions, live ones finish their turn (cluster/drain.py).
    from agent.realtime.cluster.drain import draining_server

    server = draining_server(
        uvicorn.Config(app, host=host, port=port, ws="websockets-sansio",
                       ws_max_size=max(16 * 1024 * 1024, 4 * limits.max_message_bytes),
                       log_level="info"),
        app.state.cluster.drain, lambda: app.state.sessions)
    server.run()


def load_serving_agent(settings, progress: bool = True, persistent_history: bool = True):
    """The agent `stepvox serve` runs (also used by `bench/realtime_latency.py`)."""
    from agent.cli.chat_session import remote_chat_model
    from agent.setup.embedded_stack import load_embedded_stack

    remote = settings.model != "embedded"
    # A Step-Audio backend replaces only the LLM: VAD, ASR and TTS stay embedded.
    chat_model = remote_chat_model(settings) if remote else None
    stack = load_embedded_stack(settings, progress=progress, with_llm=not remote)
    stack.persistent_history = persistent_history
    from agent.setup.tools import tools_for
    from personas import DEFAULT_PERSONA

    # The default persona's tools: the offline built-ins and any installed plugins.
    agent = VoiceAgent.from_stack(stack, chat_model, tools=tools_for(DEFAULT_PERSONA))
    # The realtime segmenter has already cut the speech out; a second VAD pass in the turn
    # would only add latency.
    agent.services.vad = None
    return agent
