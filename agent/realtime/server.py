"""The realtime server: `/v1/realtime` (websocket), the browser page at `/`, small JSON
endpoints (`/v1/personas`, `/v1/stats`, `/healthz`, `/readyz`), the conversation endpoints
(`cluster/routes.py`) and, when `metrics` is on, Prometheus metrics at `/metrics`.

Access: with a token configured, a websocket must present it as `?token=...` (browsers cannot
set headers on a websocket) or `Authorization: Bearer ...`. With per-user tokens
(`user_tokens`) a token names a user, who owns the conversations they create. `stepvox serve`
refuses to bind a non-loopback address without a token.

Many workers: `?conversation_id=` continues a conversation on any worker sharing the history
database; with `redis_url` the workers signal each other (`cluster/`, docs/deployment.md).
"""

from __future__ import annotations

import ipaddress
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, WebSocket
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from agent.realtime.audio_input import EnergyVad
from agent.realtime.cluster.binding import ClusterOptions
from agent.realtime.cluster.bus import LocalBus
from agent.realtime.cluster.drain import Drain
from agent.realtime.cluster.identity import CallerTokens, presented_token
from agent.realtime.cluster.owners import ConversationOwners
from agent.realtime.cluster.routes import add_cluster_routes
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
    user_tokens: dict[str, str] = Field(default_factory=dict)  # user id -> token
    redis_url: str | None = None  # signals between workers; None: this process only
    lease_ttl_s: float = Field(15.0, gt=0)  # a dead worker's conversations free up after this
    handover_s: float = Field(3.0, ge=0)  # how long a take-over waits for the holder
    drain_timeout_s: float = Field(30.0, ge=0)  # SIGTERM: how long live sessions may finish


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cluster_options(agents: PersonaAgents, config: RealtimeServerConfig) -> ClusterOptions:
    if config.redis_url:
        from agent.realtime.cluster.redis_bus import RedisBus

        bus = RedisBus(config.redis_url)
    else:
        bus = LocalBus()
    return ClusterOptions(bus=bus, drain=Drain(config.drain_timeout_s),
                          lease_ttl_s=config.lease_ttl_s, handover_s=config.handover_s,
                          owners=ConversationOwners(agents.base.services.memory))


def create_app(agents: PersonaAgents | VoiceAgent,
               config: RealtimeServerConfig | None = None) -> FastAPI:
    config = config or RealtimeServerConfig()
    agents = agents if isinstance(agents, PersonaAgents) else PersonaAgents(agents)
    tokens = CallerTokens(shared=config.token, per_user=config.user_tokens)
    cluster = cluster_options(agents, config)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if (start := getattr(cluster.bus, "start", None)) is not None:
            await start()  # subscribed to other workers' signals before the first caller
        if config.warm_up:
            await agents.base.warm_up()
        yield
        await cluster.bus.close()

    app = FastAPI(title="stepvox realtime", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.sessions = 0
    app.state.cluster = cluster  # `stepvox serve` drains through `cluster.drain` on SIGTERM
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
    add_cluster_routes(app, agents, cluster, tokens)

    @app.websocket("/v1/realtime")
    async def realtime(ws: WebSocket) -> None:
        caller = tokens.identify(presented_token(ws.query_params, ws.headers))
        if caller is None:
            if metrics is not None:
                metrics.error("unauthorized")
            await ws.close(code=1008, reason="missing or wrong token")  # 403 at the handshake
            return
        if cluster.drain.draining:
            if metrics is not None:
                metrics.error("server_draining")
            await ws.close(code=1013, reason="server draining: connect to another worker")
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
                vad_factory=vad_model.stream if vad_model is not None else EnergyVad,
                cluster=cluster, caller=caller).run()
        finally:
            app.state.sessions -= 1
            if metrics is not None:
                metrics.active.dec()

    return app


