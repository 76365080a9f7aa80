"""Which tools an agent built by the CLI offers: the persona decides.

A persona without `allowed_tools` gets the offline built-ins and every installed
`stepvox.tools` plugin: installing a plugin is how a user asks for its tools (with none
installed the default stays fully offline). A persona that names its tools gets them from
the StepEval set (`search`, `get_weather` use the network; `timbre_rag` searches the
built-in audio library) and from installed plugins, narrowed to the names it lists.
"""

from __future__ import annotations

import logging

from personas import Persona
from tools import ToolRegistry, builtin_tools, load_plugins, stepeval_tools
from tools.plugins import plugin_entry_points
from tools.builtin.audio_library_files import builtin_audio_library

log = logging.getLogger(__name__)

# Plugins installed with stepvox for one built-in persona, not offered to the default one.
PERSONA_DESKS = frozenset({"stepvox", "stepvox-skyway-desk"})


def tools_for(persona: Persona, base: ToolRegistry | None = None) -> ToolRegistry:
    """The tools `persona` is offered. `base` is an agent's own set (`for_persona`): a
    persona without `allowed_tools` keeps it whole; one that names its tools gets those of
    them `base` has (the caller's own tools win), then the rest from what is installed."""
    if persona.allowed_tools is None:
        if base is not None:
            return base
        # Not the desks that serve one built-in persona (the airline), though installed.
        others = [ep for ep in plugin_entry_points()
                  if ep.dist is None or ep.dist.name not in PERSONA_DESKS]
        return _with_plugins(ToolRegistry(builtin_tools()), others)
    allowed = set(persona.allowed_tools)
    registry = ToolRegistry(t for t in (base or ()) if t.name in allowed)
    if not allowed <= set(registry.names):
        for tool in _with_plugins(ToolRegistry(stepeval_tools(builtin_audio_library()))):
            if tool.name not in registry:
                registry.add(tool)
    missing = sorted(set(persona.allowed_tools) - set(registry.names))
    if missing:
        log.warning("persona %s names tools that are not installed: %s", persona.name,
                    ", ".join(missing))
    return registry.subset(n for n in registry.names if n in persona.allowed_tools)


def _with_plugins(registry: ToolRegistry, entry_points=None) -> ToolRegistry:
    report = load_plugins(registry, entry_points=entry_points)
    for error in report.errors:
        log.warning("tool plugin not loaded: %s", error)
    return registry
