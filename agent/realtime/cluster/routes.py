"""The cluster's HTTP endpoints on every worker.

- `GET /readyz`: 200 when this worker should get new callers: the history database answers,
  Redis answers (when configured) and the worker is not draining; else 503 with the reasons.
  (`/healthz` only says the process is up.)
- `POST /v1/conversations/{id}/cancel`: stop the reply in progress, from another connection
  (an operator console, a second device): delivered through the bus to whichever worker's
  session holds the conversation. 409 when no session holds it.
- `POST /v1/conversations/{id}/approval` with `{"approve": true|false}`: answer a paused
  "shall I?" from a web form. A live session gets it as the caller's turn (the reply is
  spoken there); with no live session this worker resumes the paused turn itself, writes its
  answer to the history, and returns it. 409 when nothing waits for an approval.

Both conversation endpoints take the websocket's token (`Authorization: Bearer` or
`?token=`) and only the conversation's owner may use them.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from agent.realtime.cluster.binding import APPROVED_TEXT, DECLINED_TEXT, ClusterOptions
from agent.realtime.cluster.bus import Signal
from agent.realtime.cluster.identity import (
    CallerTokens, InvalidConversationId, check_conversation_id, presented_token,
)

log = logging.getLogger("stepvox.realtime.cluster")


class ApprovalAnswer(BaseModel):
    approve: bool


def _refuse(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def add_cluster_routes(app: FastAPI, agents, options: ClusterOptions,
                       tokens: CallerTokens) -> None:
    owners, bus = options.owners, options.bus

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        checks: dict[str, str] = {"draining": "yes" if options.drain.draining else "no"}
        ready = not options.drain.draining
        store = owners.store if owners is not None else None
        if store is not None:
            try:
                async with store.transaction() as session:
                    await session.execute(text("SELECT 1"))
                checks["database"] = "ok"
            except Exception as exc:
                checks["database"], ready = f"unavailable: {type(exc).__name__}", False
        else:
            checks["database"] = "none (history in memory)"
        if getattr(bus, "url", None) is not None:
            try:
                await bus.ping()
                checks["redis"] = "ok"
            except Exception as exc:
                checks["redis"], ready = f"unavailable: {type(exc).__name__}", False
        else:
            checks["redis"] = "not configured"
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def authorize(request: Request, conversation_id: str):
        """(the owner's user id, None) or (None, a refusal)."""
        caller = tokens.identify(presented_token(request.query_params, request.headers))
        if caller is None:
            return None, _refuse(401, "unauthorized", "missing or wrong token")
        try:
            check_conversation_id(conversation_id)
        except InvalidConversationId as exc:
            return None, _refuse(400, "invalid_conversation_id", str(exc))
        exists, owner = await owners.owner(conversation_id)
        if not exists:
            return None, _refuse(404, "conversation_not_found",
                                 f"no conversation {conversation_id!r}")
        if owner is not None and owner != caller.user_id:
            return None, _refuse(403, "conversation_forbidden",
                                 f"conversation {conversation_id!r} belongs to another caller")
        return owner, None

    @app.post("/v1/conversations/{conversation_id}/cancel")
    async def cancel(conversation_id: str, request: Request) -> JSONResponse:
        _, refusal = await authorize(request, conversation_id)
        if refusal is not None:
            return refusal
        if await bus.holder(conversation_id) is None:
            return _refuse(409, "no_live_session",
                           f"no session holds conversation {conversation_id!r} now")
        await bus.publish(Signal(type="cancel", conversation_id=conversation_id,
                                 sender="http"))
        return JSONResponse({"delivered_to": "live_session"}, status_code=202)

    @app.post("/v1/conversations/{conversation_id}/approval")
    async def approval(conversation_id: str, answer: ApprovalAnswer,
                       request: Request) -> JSONResponse:
        owner, refusal = await authorize(request, conversation_id)
        if refusal is not None:
            return refusal
        signal = Signal(type="approval", conversation_id=conversation_id, sender="http",
                        approve=answer.approve)
        holder = f"http_{uuid.uuid4().hex[:12]}"
        if await bus.acquire(conversation_id, holder, options.lease_ttl_s) is not None:
            await bus.publish(signal)  # a live session answers it as the caller's turn
            return JSONResponse({"answered_by": "live_session"}, status_code=202)
        try:
            agent = agents.base
            if await agent.pending_approval(conversation_id) is None:
                return _refuse(409, "no_approval_pending",
                               f"conversation {conversation_id!r} waits for no approval")
            said = APPROVED_TEXT if answer.approve else DECLINED_TEXT
            reply = await agent.arespond(said, conversation_id=conversation_id,
                                         synthesize=False, user_id=owner)
            await agent.end_conversation(conversation_id)
            return JSONResponse({"answered_by": "this_worker", "reply": reply.text})
        finally:
            await bus.release(conversation_id, holder)
