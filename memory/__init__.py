"""Dialogue history as text: in memory, or in SQLite / PostgreSQL with `SqlDialogueStore`;
context windows with a running summary; long-term facts; LangGraph checkpoints.

Imports nothing else of stepvox.
"""

from memory.buffered_store import BufferedDialogueStore
from memory.context_window import ContextBudgetError, ContextWindow, ContextWindowBuilder
from memory.conversation_records import (
    ConversationExport, ConversationInfo, DeletedUser, StoredSummary,
)
from memory.dialogue import DialogueStore, DialogueTurn, InMemoryDialogueStore, ToolCallRecord
from memory.errors import ConversationNotFoundError, DatabaseUnavailableError, MemoryStoreError

__all__ = [
    "BufferedDialogueStore", "ContextBudgetError", "ContextWindow", "ContextWindowBuilder",
    "ConversationExport", "ConversationInfo", "ConversationNotFoundError",
    "DatabaseUnavailableError", "DeletedUser", "DialogueStore", "DialogueTurn",
    "InMemoryDialogueStore", "MemoryStoreError", "SqlDialogueStore", "SqlFactStore",
    "StoredSummary", "ToolCallRecord", "UserFact", "open_checkpointer",
]

# SQLAlchemy's asyncio layer, numpy ranking and the LangGraph savers load only when used, so
# `import memory` stays cheap for agents that keep history in memory.
_LAZY = {
    "SqlDialogueStore": "memory.sql_store",
    "SqlFactStore": "memory.user_facts",
    "UserFact": "memory.user_facts",
    "open_checkpointer": "memory.checkpoints",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'memory' has no attribute {name!r}")
