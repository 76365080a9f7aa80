"""Tools from installed packages, through the `stepvox.tools` entry-point group.

A package declares, in its pyproject.toml:

    [project.entry-points."stepvox.tools"]
    my_tools = "my_package.tools:provide"

and the target may be a `Tool`, a LangChain `BaseTool`, a list of those, or a function
(called with no arguments) returning any of them. One broken plugin must not take the
others down, so every failure becomes a `PluginLoadError` naming the plugin, collected in
the report instead of raised.
"""

from __future__ import annotations

import importlib.metadata as metadata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tools.errors import DuplicateToolError, ToolError
from tools.adapters.langchain import from_langchain, is_langchain_tool
from tools.registry import ToolRegistry
from tools.tool import Tool

ENTRY_POINT_GROUP = "stepvox.tools"


class PluginLoadError(ToolError):
    """A plugin could not be loaded; names the entry point and the package that declared it."""

    def __init__(self, plugin: str, distribution: str | None, reason: str) -> None:
        self.plugin = plugin
        self.distribution = distribution
        self.reason = reason
        source = f" (from package {distribution!r})" if distribution else ""
        super().__init__(f"tool plugin {plugin!r}{source} failed to load: {reason}")


@dataclass
class PluginReport:
    """What loading plugins did: tools added (by plugin) and the plugins that failed."""

    loaded: dict[str, list[str]] = field(default_factory=dict)
    errors: list[PluginLoadError] = field(default_factory=list)


def as_tools(obj: Any) -> list[Tool]:
    """A plugin's export as tools; TypeError (with what was found) for anything else."""
    if isinstance(obj, Tool):
        return [obj]
    if is_langchain_tool(obj):
        return [from_langchain(obj)]
    if isinstance(obj, (list, tuple)):
        out: list[Tool] = []
        for item in obj:
            if isinstance(item, (list, tuple)) or not (isinstance(item, Tool) or is_langchain_tool(item)):
                raise TypeError(f"the list holds a {type(item).__name__}, not a Tool")
            out.extend(as_tools(item))
        return out
    if callable(obj):
        made = obj()
        if callable(made) and not isinstance(made, Tool) and not is_langchain_tool(made):
            raise TypeError("the factory returned another callable; return Tools")
        return as_tools(made)
    raise TypeError(f"expected a Tool, a list of Tools or a function returning them, got {type(obj).__name__}")


def plugin_entry_points(group: str = ENTRY_POINT_GROUP) -> list[metadata.EntryPoint]:
    """The declared entry points, sorted by name so tool order does not depend on disk order."""
    return sorted(metadata.entry_points(group=group), key=lambda ep: ep.name)


def load_plugins(
    registry: ToolRegistry,
    *,
    entry_points: Iterable[metadata.EntryPoint] | None = None,
    enabled: Iterable[str] | None = None,
) -> PluginReport:
    """Add every plugin's tools to `registry`; failures go to the report, never raise.

    A plugin is all or nothing: if one of its tools clashes with a name already present,
    none of its tools are added, so an agent never runs with half a plugin. `enabled`
    limits loading to those entry-point names (None: all).
    """
    report = PluginReport()
    wanted = None if enabled is None else set(enabled)
    for ep in plugin_entry_points() if entry_points is None else entry_points:
        if wanted is not None and ep.name not in wanted:
            continue
        dist = ep.dist.name if ep.dist is not None else None
        try:
            found = as_tools(ep.load())
        except Exception as exc:  # noqa: BLE001 - any failure inside a plugin is the plugin's
            report.errors.append(PluginLoadError(ep.name, dist, f"{type(exc).__name__}: {exc}"))
            continue
        clash = [t.name for t in found if t.name in registry]
        names = [t.name for t in found]
        clash += sorted({n for n in names if names.count(n) > 1})
        if clash:
            reason = str(DuplicateToolError(clash[0])) + "; none of its tools were added"
            report.errors.append(PluginLoadError(ep.name, dist, reason))
            continue
        for item in found:
            registry.add(item)
        report.loaded[ep.name] = names
    return report
