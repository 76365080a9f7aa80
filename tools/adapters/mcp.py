"""Tools served by MCP servers (the official `mcp` SDK, 2.x), used as stepvox tools.

`McpToolset` connects to one server, over stdio (a command to launch) or streamable HTTP (a
URL), lists its tools and maps each to a `SchemaTool` whose calls go to the server. The
connection lives as long as the `async with` block, so open it where the agent's lifetime
is managed and close it on shutdown.
"""

from __future__ import annotations

import json
import re
from contextlib import AsyncExitStack
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from tools.errors import ToolError
from tools.schemas.schema_tool import SchemaTool
from tools.tool import Tool


class McpServerConfig(BaseModel):
    """How to reach one MCP server: `command` (+`args`, `env`, `cwd`) or `url`, not both.

    `tool_prefix` keeps two servers' tools apart ("fs_" + "read"). `require_approval`
    overrides the server's hints: None follows them (an explicit `destructiveHint` on a
    tool that is not read-only asks the user first), True/False applies to every tool.
    """

    model_config = ConfigDict(extra="forbid")

    command: str | None = None
    args: list[str] = []
    env: dict[str, str] | None = None
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] | None = None  # for `url`: e.g. an Authorization header
    tool_prefix: str = ""
    timeout_s: float = 30.0
    require_approval: bool | None = None

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of `command` (stdio) or `url` (streamable HTTP)")
        return self


class McpToolError(ToolError):
    """The MCP server reported a failed tool call; the message is the server's text."""


class McpToolset:
    """`async with McpToolset(config) as tools:` the server's tools while connected.

    `server` may also be an in-process `mcp.server.mcpserver.MCPServer` (tests, embedding).
    `http_client` (an `httpx2.AsyncClient`, the HTTP library of mcp 2.x) replaces the one
    made for a `url` server: for proxies, custom TLS, or an in-memory ASGI app in tests.
    """

    def __init__(self, server: McpServerConfig | Any, *, http_client: Any = None) -> None:
        self.config = server if isinstance(server, McpServerConfig) else None
        self._server = server
        self._http_client = http_client
        self._stack: AsyncExitStack | None = None
        self.tools: list[Tool] = []

    async def __aenter__(self) -> list[Tool]:
        from mcp import Client

        timeout = self.config.timeout_s if self.config else 30.0
        async with AsyncExitStack() as stack:
            target = await self._target(stack) if self.config else self._server
            client = await stack.enter_async_context(Client(target, read_timeout_seconds=timeout))
            listed, cursor = [], None
            while True:  # servers may page their tool list
                page = await client.list_tools(cursor=cursor)
                listed.extend(page.tools)
                cursor = page.next_cursor
                if not cursor:
                    break
            self.tools = [self._wrap(client, t) for t in listed]
            self._stack = stack.pop_all()  # keep the connection open past this block
        return self.tools

    async def _target(self, stack: AsyncExitStack) -> Any:
        config = self.config
        assert config is not None
        if config.url is None:
            from mcp import StdioServerParameters

            return StdioServerParameters(command=config.command, args=config.args, env=config.env, cwd=config.cwd)
        if self._http_client is None and not config.headers:
            return config.url
        from mcp.client.streamable_http import streamable_http_client

        http = self._http_client
        if http is None:
            import httpx2

            # Ours, so closed with the connection; an injected client belongs to the caller.
            http = await stack.enter_async_context(httpx2.AsyncClient(headers=config.headers, timeout=config.timeout_s))
        return streamable_http_client(config.url, http_client=http)

    async def __aexit__(self, *exc_info: Any) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    def _wrap(self, client: Any, remote: Any) -> Tool:
        config = self.config or McpServerConfig(url="memory://")
        hints = remote.annotations
        read_only = bool(hints and hints.read_only_hint)
        approval = config.require_approval
        if approval is None:
            approval = bool(hints and hints.destructive_hint is True and not read_only)
        remote_name = remote.name

        async def call(arguments: dict[str, Any]) -> str:
            result = await client.call_tool(remote_name, arguments)
            text = render_mcp_content(result)
            if result.is_error:
                raise McpToolError(text or f"the MCP tool {remote_name!r} failed")
            return text

        return SchemaTool(
            _safe_name(config.tool_prefix + remote_name),
            remote.description or remote.title or "",
            remote.input_schema,
            call,
            timeout_s=config.timeout_s,
            requires_approval=approval,
            safe_to_repeat=read_only or bool(hints and hints.idempotent_hint),
        )


def render_mcp_content(result: Any) -> str:
    """A `CallToolResult` as text: text blocks as-is, other media named, not inlined."""
    parts: list[str] = []
    for block in result.content or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind} {block.mime_type}]")
        elif kind == "resource":
            inner = block.resource
            parts.append(getattr(inner, "text", None) or f"[resource {inner.uri}]")
        elif kind == "resource_link":
            parts.append(f"[resource {block.name}: {block.uri}]")
    if not parts and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":"))
    return "\n".join(parts)


def _safe_name(name: str) -> str:
    # MCP allows dots and slashes in names; the chat APIs do not.
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]
