"""Which tools an agent built by the CLI offers: the persona decides.

A persona without `allowed_tools` gets the offline built-ins only (the default stays fully
offline). A persona that names its tools gets them from the StepEval set (`search`,
`get_weather` use the network; `timbre_rag` searches the built-in audio library) and from
installed `stepvox.tools` plugins, narrowed to the names it lists.
"""

from __future__ import annotations

import logging

from personas import Persona
from tools import ToolRegistry, builtin_tools, load_plugins, stepeval_tools
from tools.builtin_audio_library import builtin_audio_library

log = logging.getLogger(__name__)


def tools_for(persona: Persona) -> ToolRegistry:
    if persona.allowed_tools is None:
        return ToolRegistry(builtin_tools())
    registry = ToolRegistry(stepeval_tools(builtin_audio_library()))
    report = load_plugins(registry)
    for error in report.errors:
        log.warning("tool plugin not loaded: %s", error)
    missing = sorted(set(persona.allowed_tools) - set(registry.names))
    if missing:
        log.warning("persona %s names tools that are not installed: %s", persona.name,
                    ", ".join(missing))
    return registry.subset(n for n in registry.names if n in persona.allowed_tools)
