"""The memory schema as SQLAlchemy 2 typed ORM classes; Alembic migrations mirror it.

One schema for SQLite and PostgreSQL. Times are stored in UTC; SQLite hands them back without a
time zone, so the store re-attaches UTC when it reads. Audio itself is not stored: a turn may
name an audio file (`audio_path`) that lives next to the database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
RowId = BigInteger().with_variant(Integer(), "sqlite")

# Named constraints, so Alembic's batch mode (SQLite's ALTER TABLE) can find them later.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class ConversationRow(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    # Deleting a user deletes their conversations (and, by cascade, every turn of them).
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True)
    persona: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(default=utc_now)
    ended_at: Mapped[datetime | None]
    # The next turn's position. Bumped with an UPDATE ... RETURNING in the appending
    # transaction: that row lock is what keeps two writers' blocks of turns from interleaving.
    next_seq: Mapped[int] = mapped_column(Integer, default=0)

    turns: Mapped[list[TurnRow]] = relationship(
        back_populates="conversation", cascade="all, delete-orphan", passive_deletes=True,
        order_by="TurnRow.seq")


class TurnRow(Base):
    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("conversation_id", "seq"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    preamble: Mapped[str] = mapped_column(Text, default="")
    # True when the user barged in; `text` then holds only what was actually played.
    interrupted: Mapped[bool] = mapped_column(Boolean, default=False)
    style: Mapped[str] = mapped_column(String(256), default="")
    language: Mapped[str] = mapped_column(String(32), default="")
    audio_duration_s: Mapped[float | None] = mapped_column(Float)
    audio_path: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    conversation: Mapped[ConversationRow] = relationship(back_populates="turns")
    tool_calls: Mapped[list[ToolCallRow]] = relationship(
        back_populates="turn", cascade="all, delete-orphan", passive_deletes=True,
        order_by="ToolCallRow.position", lazy="selectin")


class ToolCallRow(Base):
    __tablename__ = "tool_calls"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    call_id: Mapped[str] = mapped_column(String(128), default="")
    name: Mapped[str] = mapped_column(String(128))
    arguments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="ok")  # "ok" | "error"
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)

    turn: Mapped[TurnRow] = relationship(back_populates="tool_calls")


class SummaryRow(Base):
    """A running summary of a conversation's older turns, up to and including `through_seq`."""

    __tablename__ = "summaries"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    through_seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class FactRow(Base):
    """A long-term fact about a user (name, preference, open case), per persona or for all."""

    __tablename__ = "facts"
    __table_args__ = (Index("ix_facts_user_persona", "user_id", "persona"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    persona: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    # "name" | "preference" | "open_case" | "other"; None for facts stored before kinds existed.
    kind: Mapped[str | None] = mapped_column(String(32))
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    # A sentence embedding as a list of floats (JSON keeps both backends alike; no pgvector).
    embedding: Mapped[list[float] | None] = mapped_column(JSON)
    source_conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
