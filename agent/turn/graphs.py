"""The compiled turn graph of an agent and, when it has tools that need approval, the
checkpointer a paused turn waits in.

A paused turn (a tool awaiting the user's yes or no) is kept where the history is: with a SQL
history store, in the same database (`memory.open_checkpointer`: SQLite file or PostgreSQL),
so the next turn may be answered by another process; otherwise in memory. The database saver
is opened on the first turn (it needs the running event loop) and closed by `aclose()`.
Agents without approval tools get no checkpointer and pay nothing for it.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from agent.chat_model import ChatMessage, ToolCall
from agent.turn.graph import build_turn_graph
from tools import ToolResult

log = logging.getLogger(__name__)
# The state's own types, named: a paused turn is read back as these and nothing else
# (LangGraph otherwise rebuilds any class a checkpoint names, and warns that it will stop).
STATE_SERDE = JsonPlusSerializer(allowed_msgpack_modules=[ChatMessage, ToolCall, ToolResult])


class TurnGraphs:
    def __init__(self, *, pausable: bool, database_url: Any = None) -> None:
        self.pausable = pausable
        self.database_url = database_url if pausable else None
        self.checkpointer: BaseCheckpointSaver | None = None
        self._graph: Any = None
        self._stack: AsyncExitStack | None = None
        self._lock = asyncio.Lock()
        if self.database_url is None:
            self.checkpointer = InMemorySaver(serde=STATE_SERDE) if pausable else None
            self._graph = build_turn_graph(self.checkpointer)

    async def get(self) -> tuple[Any, BaseCheckpointSaver | None]:
        """(the compiled graph, its checkpointer or None)."""
        if self._graph is None:
            async with self._lock:
                if self._graph is None:
                    await self._open_database_saver()
        return self._graph, self.checkpointer

    async def _open_database_saver(self) -> None:
        from memory import open_checkpointer

        stack = AsyncExitStack()
        try:
            saver = await stack.enter_async_context(open_checkpointer(self.database_url,
                                                                       serde=STATE_SERDE))
        except Exception as exc:
            # The caller still gets answers; only a paused turn cannot move to another process.
            await stack.aclose()
            log.error("paused turns are kept in memory: the checkpoint database is "
                      "unavailable (%s)", exc)
            self.checkpointer = InMemorySaver(serde=STATE_SERDE)
            self._graph = build_turn_graph(self.checkpointer)
            return
        self._stack, self.checkpointer = stack, saver
        self._graph = build_turn_graph(saver)

    async def aclose(self) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()
            self._graph = self.checkpointer = None  # reopened if the agent is used again
