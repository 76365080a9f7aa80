"""The seam between a scenario and a team's own tools: the database adapter.

An adapter is any function `adapter(data, now) -> ScenarioDatabase`: given the scenario's
initial records (None: the adapter's own default data) and the moment the call happens,
it returns the tools under test, sharing one fresh copy of the records, and a way to read
those records back as plain nested data after the call. The SkyWay desk's adapter is
`skyway_desk.desk:scenario_desk`; the clinic example's is in examples/clinic_desk.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import yaml

from agent.evals.format import DatabaseSpec, ScenarioFormatError
from tools import Tool


@runtime_checkable
class ScenarioDatabase(Protocol):
    """Tools over one copy of the records, and those records as data (`snapshot`): nested
    dicts keyed by table, then record id, then field, so a difference names its path."""

    tools: list[Tool]

    def snapshot(self) -> dict[str, Any]: ...


DatabaseAdapter = Callable[[dict[str, Any] | None, datetime], ScenarioDatabase]


def load_adapter(reference: str) -> DatabaseAdapter:
    """The function named by "module:function" (a named error when it cannot be found)."""
    module_name, _, attribute = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ScenarioFormatError(f"database adapter {reference!r}: cannot import {module_name!r} "
                                  f"({exc}); is the package installed?") from exc
    adapter = getattr(module, attribute, None)
    if not callable(adapter):
        raise ScenarioFormatError(f"database adapter {reference!r}: {module_name} has no "
                                  f"function {attribute!r}")
    return adapter


def initial_records(spec: DatabaseSpec) -> dict[str, Any] | None:
    """The records a scenario starts from: `file`, then each table in `records` replacing
    that table (None when the scenario gives neither: the adapter's default data)."""
    if spec.file is None and not spec.records:
        return None
    data: dict[str, Any] = {}
    if spec.file is not None:
        data = _read(spec.file)
    return {**data, **spec.records}


def open_database(spec: DatabaseSpec, now: datetime) -> ScenarioDatabase:
    database = load_adapter(spec.adapter)(initial_records(spec), now)
    if not isinstance(database, ScenarioDatabase):
        raise ScenarioFormatError(f"database adapter {spec.adapter!r} returned "
                                  f"{type(database).__name__}, which lacks .tools or .snapshot()")
    return database


def _read(file: Path) -> dict[str, Any]:
    try:
        text = file.read_text(encoding="utf-8")
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ScenarioFormatError(f"cannot read the initial database {str(file)!r}: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioFormatError(f"the initial database {str(file)!r} must be a mapping of tables")
    return data
