"""The scenario file format: what a simulated call is, and what counts as getting it right.

A scenario file is YAML holding one scenario, or a set:

    defaults: {...}            # merged under every scenario of the file (optional)
    scenarios: [{...}, ...]

Every file is validated here, at the boundary, so a typo ("forbiden_calls") fails with the
file and scenario named instead of silently checking nothing (`extra="forbid"` throughout).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class ScenarioFormatError(ValueError):
    """A scenario file cannot be read or does not match the format; names the file."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScriptedTurn(_Strict):
    """A scripted line said only when the agent's last reply asked something (`if_asked`):
    "Yes, please cancel it." answers "Shall I cancel it?" but would be out of place after
    "It is cancelled."."""

    say: str = Field(min_length=1)
    if_asked: bool = False
    # Realtime runs: said over the agent's previous reply while it still plays (barge-in).
    # Text and --voice runs have no playback to talk over and say it after the reply.
    barge_in: bool = False


class CallerSpec(_Strict):
    """Who calls, in words for a simulated caller; `turns` for the scripted one.

    The scripted caller says `turns` in order (a plain string, or `{say: ..., if_asked:
    true}`; `barge_in: true` talks over the reply before it in realtime runs). When the
    agent asks for approval of a change ("Shall I do that? Please say yes or no.") it
    answers `approval_answer` without using up a turn, and it keeps doing so after its
    turns run out, so a script does not depend on whether the model asked in words first
    or went straight to the tool.
    """

    goal: str
    facts: dict[str, str] = Field(default_factory=dict)
    turns: list[str | ScriptedTurn] = Field(default_factory=list)
    approval_answer: str = "Yes, please go ahead."
    # Realtime runs: an impatient caller who talks over every reply (approval questions
    # included) once it is written and has played a moment.
    barge_in: bool = False


class CallSpec(_Strict):
    """A tool call, matched by name and the key arguments given (others are free).

    Strings match ignoring case, spaces and hyphens ("SKW 123" == "skw123"), because a
    model may write a code as it was spoken.
    """

    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    # Required calls must have run and succeeded; `attempted` also accepts a call the tool
    # refused (the scenario is about asking, not about the outcome).
    attempted: bool = False


class Expectations(_Strict):
    """What the call must have achieved.

    `changes`: database paths ("reservations/SKW123/status") and their values after the call;
    every other field must be exactly as it started, so an extra write is a failure. A value
    may be `{one_of: [...]}` (e.g. the cancel reason a model picks) or `{any: true}` (the
    field must exist, any value: a hand-off's wording).
    `required_calls` / `forbidden_calls`: the tool trace. A forbidden call fails the scenario
    when it ran and succeeded (a refused or declined attempt changed nothing); set
    `attempted: true` on it to forbid even trying. `said` / `not_said`: regular expressions
    the agent's spoken replies must (each, in some reply) or must not (in any) match:
    for facts a caller must hear (a delay, a fee), case-insensitive.
    """

    changes: dict[str, Any] = Field(default_factory=dict)
    required_calls: list[CallSpec] = Field(default_factory=list)
    forbidden_calls: list[CallSpec] = Field(default_factory=list)
    said: list[str] = Field(default_factory=list)
    not_said: list[str] = Field(default_factory=list)


class DatabaseSpec(_Strict):
    """Where the tools and their database come from.

    `adapter` is "module:function", called as `function(data, now)` with the initial records
    (`file` relative to the scenario file, then `records` merged over it table by table) and
    returning something with `.tools` and `.snapshot()` (`agent.evals.database`).
    `ignore` lists path patterns (fnmatch, "flights/*/seats_left/*") left out of the
    end-state comparison: derived fields a scenario need not spell out.
    """

    adapter: str
    file: Path | None = None
    records: dict[str, Any] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)

    @field_validator("adapter")
    @classmethod
    def _module_and_function(cls, value: str) -> str:
        if value.count(":") != 1 or not all(value.split(":")):
            raise ValueError(f"adapter must be 'module:function', got {value!r}")
        return value


class PolicyRuleSpec(_Strict):
    """One policy rule by name (`agent.evals.policy.RULES`, or "module:function" for your
    own) and its options."""

    rule: str
    options: dict[str, Any] = Field(default_factory=dict)


class Scenario(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    persona: str  # a persona library name, or a persona file relative to the scenario file
    # The tools under test, by name (None: every tool the adapter gives, narrowed by the
    # persona's own list). Naming them overrides the persona's `allowed_tools`.
    tools: list[str] | None = None
    caller: CallerSpec
    database: DatabaseSpec
    expect: Expectations = Field(default_factory=Expectations)
    policy: list[PolicyRuleSpec] = Field(default_factory=list)
    max_turns: int = Field(default=8, ge=1, le=50)
    source: Path | None = None  # the file it came from (set by the loader)



def load_scenarios(path: str | Path) -> list[Scenario]:
    """Every scenario in a YAML file, or in the *.yaml/*.yml files of a folder (sorted)."""
    path = Path(path)
    if path.is_dir():
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        if not files:
            raise ScenarioFormatError(f"no *.yaml scenario files in {str(path)!r}")
    elif path.is_file():
        files = [path]
    else:
        raise ScenarioFormatError(f"no scenario file or folder at {str(path)!r}")
    found: list[Scenario] = []
    for file in files:
        found.extend(_load_file(file))
    names = [s.name for s in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ScenarioFormatError(f"scenario names must be unique; repeated: {', '.join(duplicates)}")
    return found


def _load_file(file: Path) -> list[Scenario]:
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioFormatError(f"cannot read scenario file {str(file)!r}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ScenarioFormatError(f"{str(file)!r} must hold a mapping (one scenario, or "
                                  "'scenarios:' with optional 'defaults:')")
    if "scenarios" in raw:
        unknown = set(raw) - {"defaults", "scenarios"}
        if unknown:
            raise ScenarioFormatError(f"{str(file)!r}: unknown top-level keys {sorted(unknown)}")
        defaults, items = raw.get("defaults") or {}, raw["scenarios"]
        if not isinstance(items, list):
            raise ScenarioFormatError(f"{str(file)!r}: 'scenarios' must be a list")
    else:
        defaults, items = {}, [raw]
    out = []
    for index, item in enumerate(items):
        merged = _merge(defaults, item if isinstance(item, dict) else {"_not_a_mapping": item})
        label = merged.get("name", f"#{index + 1}")
        try:
            scenario = Scenario.model_validate(merged)
        except ValidationError as exc:
            raise ScenarioFormatError(f"{str(file)!r}, scenario {label}: {exc}") from exc
        db = scenario.database
        if db.file is not None and not db.file.is_absolute():
            db = db.model_copy(update={"file": (file.parent / db.file).resolve()})
        out.append(scenario.model_copy(update={"database": db, "source": file}))
    return out


def _merge(base: Any, over: Any) -> Any:
    """`over` on top of `base`: mappings merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = copy.deepcopy(base)
        for key, value in over.items():
            merged[key] = _merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(over)
