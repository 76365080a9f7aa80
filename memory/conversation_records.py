"""What the SQL store hands out besides turns: conversation listings, exports, deletions."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from memory.dialogue import DialogueTurn, StoredSummary  # noqa: F401 - re-exported


class ConversationInfo(BaseModel):
    id: str
    user_id: str | None = None
    persona: str | None = None
    started_at: datetime
    ended_at: datetime | None = None
    turn_count: int = 0




class ConversationExport(BaseModel):
    """One conversation, whole: what `stepvox history export` writes."""

    conversation: ConversationInfo
    turns: list[DialogueTurn] = Field(default_factory=list)
    summary: StoredSummary | None = None

    def to_markdown(self) -> str:
        info = self.conversation
        lines = [f"# Conversation {info.id}", ""]
        for label, value in (("user", info.user_id), ("persona", info.persona),
                             ("started", info.started_at.isoformat()),
                             ("ended", info.ended_at.isoformat() if info.ended_at else None)):
            if value:
                lines.append(f"- {label}: {value}")
        if self.summary:
            lines += ["", "## Summary", "", self.summary.text]
        lines += ["", "## Turns", ""]
        for turn in self.turns:
            mark = " (interrupted)" if turn.interrupted else ""
            lines.append(f"**{turn.role}**{mark} {turn.created_at:%H:%M:%S}: {turn.text}")
            for call in turn.tool_calls:
                status = "error" if call.is_error else "ok"
                lines.append(f"  - tool `{call.name}`({call.arguments}) -> {status}: {call.result}")
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"


class DeletedUser(BaseModel):
    user_id: str
    conversations: int
    turns: int
    facts: int
    files: int  # audio files removed from disk
