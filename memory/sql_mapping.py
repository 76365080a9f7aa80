"""Rows of the memory schema <-> the pydantic records the store hands out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from memory.conversation_records import ConversationInfo
from memory.dialogue import DialogueTurn, ToolCallRecord
from memory.sql_schema import ConversationRow, ToolCallRow, TurnRow


def turn_row(conversation_id: str, seq: int, turn: DialogueTurn) -> TurnRow:
    return TurnRow(
        conversation_id=conversation_id, seq=seq, role=turn.role, text=turn.text,
        preamble=turn.preamble, interrupted=turn.interrupted, style=turn.style,
        language=turn.language, audio_duration_s=turn.audio_duration_s,
        audio_path=turn.audio_path, created_at=turn.created_at,
        tool_calls=[ToolCallRow(position=i, call_id=c.id, name=c.name, arguments=c.arguments,
                                result=c.result, status="error" if c.is_error else "ok",
                                latency_ms=c.latency_ms) for i, c in enumerate(turn.tool_calls)],
    )


def dialogue_turn(row: TurnRow) -> DialogueTurn:
    return DialogueTurn(
        role=row.role, text=row.text, created_at=as_utc(row.created_at), preamble=row.preamble,
        interrupted=row.interrupted, style=row.style, language=row.language,
        audio_duration_s=row.audio_duration_s, audio_path=row.audio_path, seq=row.seq,
        tool_calls=[ToolCallRecord(id=c.call_id, name=c.name, arguments=c.arguments,
                                   result=c.result, is_error=c.status == "error",
                                   latency_ms=c.latency_ms) for c in row.tool_calls],
    )


def conversation_info(row: ConversationRow, turn_count: int) -> ConversationInfo:
    return ConversationInfo(id=row.id, user_id=row.user_id, persona=row.persona,
                            started_at=as_utc(row.started_at),
                            ended_at=as_utc(row.ended_at) if row.ended_at else None,
                            turn_count=turn_count)


def as_utc(value: datetime) -> datetime:
    # SQLite returns naive datetimes; they were written in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def insert_ignore(session: AsyncSession, table: type, **values: Any):
    """INSERT ... ON CONFLICT DO NOTHING, on either backend."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    return insert(table).values(**values).on_conflict_do_nothing()
