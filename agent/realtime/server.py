"""The realtime server: `/v1/realtime` (websocket), the browser page at `/`, small JSON
endpoints (`/v1/personas`, `/v1/stats`, `/healthz`) and, when `metrics` is on, Prometheus
metrics at `/metrics` (see `metrics.py`).

Access: with a token configured, a websocket must present it as `?token=...` (browsers cannot
set headers on a websocket) or `Authorization: Bearer ...`. `stepvox serve` refuses to bind a
non-loopback address without a token.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, WebSocket
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from agent.realtime.audio_input import EnergyVad
from agent.realtime.persona_agents import PersonaAgents
from agent.realtime.protocol import SessionLimits
from agent.realtime.session import RealtimeSession
from agent.realtime.stats import RealtimeStats
from agent.voice_agent import VoiceAgent

log = logging.getLogger("stepvox.realtime")
STATIC_DIR = Path(__file__).resolve().parent / "static"


class RealtimeServerConfig(BaseModel):
    token: str | None = None
    limits: SessionLimits = Field(default_factory=SessionLimits)
    vad: str = Field("silero", pattern="^(silero|energy)$")
    max_sessions: int = Field(32, ge=1)
    warm_up: bool = False  # evaluate the prompt prefix and warm ASR/TTS before serving
    metrics: bool = False  # serve Prometheus metrics at /metrics (needs prometheus-client)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _token_ok(ws: WebSocket, token: str | None) -> bool:
    if not token:
        return True
    given = ws.query_params.get("token") or ""
    auth = ws.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        given = given or auth[7:].strip()
    return hmac.compare_digest(given.encode(), token.encode())


def create_app(agents: PersonaAgents | VoiceAgent,
               config: RealtimeServerConfig | None = None) -> FastAPI:
    config = config or RealtimeServerConfig()
    agents = agents if isinstance(agents, PersonaAgents) else PersonaAgents(agents)
    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if config.warm_up:
            await agents.base.warm_up()
        yield

    app = FastAPI(title="stepvox realtime", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.sessions = 0
    vad_model = None  # one Silero model for all sessions, loaded with the first of them
    app.state.stats = stats = RealtimeStats()  # server-wide, also sent in `session.stats`
    app.state.metrics = metrics = None
    if config.metrics:
        from agent.realtime.metrics import CONTENT_TYPE_LATEST, RealtimeMetrics

        app.state.metrics = metrics = RealtimeMetrics(stats)

        @app.get("/metrics")
        async def prometheus() -> Response:
            return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/stats")
    async def server_stats() -> dict:
        return {"sessions": app.state.sessions, **stats.snapshot()}

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok", "sessions": app.state.sessions}

    @app.get("/v1/personas")
    async def personas() -> dict:
        return {"default": agents.base.persona.name, "personas": agents.names()}

    @app.get("/")
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.websocket("/v1/realtime")
    async def realtime(ws: WebSocket) -> None:
        if not _token_ok(ws, config.token):
            if metrics is not None:
                metrics.error("unauthorized")
            await ws.close(code=1008, reason="missing or wrong token")  # 403 at the handshake
            return
        if app.state.sessions >= config.max_sessions:
            if metrics is not None:
                metrics.error("server_busy")
            await ws.close(code=1013, reason="server busy: too many sessions")
            return
        nonlocal vad_model
        if config.vad == "silero" and vad_model is None:
            from agent.realtime.turn_taking.shared_vad import SileroModel

            vad_model = SileroModel()
        await ws.accept()
        app.state.sessions += 1
        if metrics is not None:
            metrics.active.inc()
        try:
            await RealtimeSession(
                ws, agents, config.limits, config.vad, server_stats=stats, metrics=metrics,
                vad_factory=vad_model.stream if vad_model is not None else EnergyVad).run()
        finally:
            app.state.sessions -= 1
            if metrics is not None:
                metrics.active.dec()

    return app


