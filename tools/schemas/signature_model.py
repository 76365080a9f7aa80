"""Builds the pydantic model that validates a tool's arguments from a function signature.

The model is the single source of truth for a tool's parameters: its JSON schema is what
the model sees, and validating against it is what protects the function from bad calls.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.errors import PydanticUserError
from pydantic.fields import FieldInfo

from tools.errors import ToolDefinitionError

# Extra arguments are forbidden so a model that invents a parameter is told so, instead of
# the argument being dropped silently. `protected_namespaces=()` lets parameters such as
# `model_name` through without pydantic warnings.
_ARGS_CONFIG = ConfigDict(extra="forbid", protected_namespaces=())


@dataclass(frozen=True, slots=True)
class ArgumentsSpec:
    """The arguments model of a function and how to call the function with an instance.

    `model_param` is set when the function takes one pydantic-model parameter that *is*
    the arguments object; otherwise `field_to_param` maps model fields to parameter names
    (they differ only when a parameter name cannot be a pydantic field name).
    """

    model: type[BaseModel]
    model_param: str | None
    field_to_param: dict[str, str]

    def call_kwargs(self, arguments: BaseModel) -> dict[str, Any]:
        if self.model_param is not None:
            return {self.model_param: arguments}
        return {param: getattr(arguments, field) for field, param in self.field_to_param.items()}


def build_arguments_spec(
    func: Callable[..., Any], model_name: str, arg_docs: dict[str, str]
) -> ArgumentsSpec:
    """Inspect `func` and build its `ArgumentsSpec`; ToolDefinitionError if it cannot be a tool."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise ToolDefinitionError(f"cannot read the signature of {func!r}: {exc}") from exc
    hints = _type_hints(func)
    params = list(signature.parameters.values())
    for param in params:
        _check_parameter(param, hints)

    single = _single_model_parameter(params, hints)
    if single is not None:
        return ArgumentsSpec(model=_forbidding_extras(single[1]), model_param=single[0], field_to_param={})

    fields: dict[str, Any] = {}
    field_to_param: dict[str, str] = {}
    taken = {p.name for p in params}
    for param in params:
        annotation = hints[param.name]
        default = ... if param.default is inspect.Parameter.empty else param.default
        doc = arg_docs.get(param.name)
        if doc and not _has_description(annotation, default):
            annotation = Annotated[annotation, Field(description=doc)]
        field_name = _field_name(param.name, taken)
        if field_name != param.name:
            annotation = Annotated[annotation, Field(alias=param.name)]
            taken.add(field_name)
        fields[field_name] = (annotation, default)
        field_to_param[field_name] = param.name
    try:
        model = create_model(model_name, __config__=_ARGS_CONFIG, **fields)
        model.model_json_schema()  # fail now, not at the first call, on unschemable types
    except (PydanticUserError, TypeError, ValueError) as exc:
        raise ToolDefinitionError(f"cannot build an arguments model for {func!r}: {exc}") from exc
    return ArgumentsSpec(model=model, model_param=None, field_to_param=field_to_param)


def _type_hints(func: Callable[..., Any]) -> dict[str, Any]:
    # Resolve string annotations (from `from __future__ import annotations`) against the
    # function's own module; partials and callable objects carry their hints elsewhere.
    target: Any = func
    while isinstance(target, functools.partial):
        target = target.func
    if not (inspect.isfunction(target) or inspect.ismethod(target)) and callable(target):
        target = type(target).__call__
    try:
        return get_type_hints(target, include_extras=True)
    except Exception as exc:  # NameError for unresolvable forward refs, TypeError for odd objects
        raise ToolDefinitionError(f"cannot resolve the type hints of {func!r}: {exc}") from exc


def _check_parameter(param: inspect.Parameter, hints: dict[str, Any]) -> None:
    if param.kind is inspect.Parameter.VAR_POSITIONAL:
        raise ToolDefinitionError(f"*{param.name} is not supported: a model can only send named arguments")
    if param.kind is inspect.Parameter.VAR_KEYWORD:
        raise ToolDefinitionError(f"**{param.name} is not supported: every argument needs a declared type")
    if param.kind is inspect.Parameter.POSITIONAL_ONLY:
        raise ToolDefinitionError(
            f"positional-only parameter {param.name!r} is not supported: tools are called by keyword"
        )
    if param.name not in hints:
        raise ToolDefinitionError(
            f"parameter {param.name!r} has no type annotation; the schema is built from annotations"
        )


def _single_model_parameter(
    params: list[inspect.Parameter], hints: dict[str, Any]
) -> tuple[str, type[BaseModel]] | None:
    if len(params) != 1:
        return None
    annotation = hints[params[0].name]
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return params[0].name, annotation
    return None


def _forbidding_extras(model: type[BaseModel]) -> type[BaseModel]:
    """The model itself if it already decides about extras, else a subclass that forbids them."""
    if "extra" in model.model_config:
        return model
    config = ConfigDict(**{**model.model_config, "extra": "forbid"})
    return type(model.__name__, (model,), {"model_config": config, "__module__": model.__module__})


def _has_description(annotation: Any, default: Any) -> bool:
    if isinstance(default, FieldInfo) and default.description:
        return True
    if get_origin(annotation) is Annotated:
        return any(isinstance(m, FieldInfo) and m.description for m in annotation.__metadata__)
    return False


def _field_name(param_name: str, taken: set[str]) -> str:
    """A pydantic-safe field name for a parameter (the alias keeps the public name).

    Leading underscores are private attributes to pydantic, and names like `json` or
    `schema` would shadow BaseModel methods.
    """
    if not param_name.startswith("_") and not hasattr(BaseModel, param_name):
        return param_name
    candidate = (param_name.lstrip("_") or "arg") + "_"
    while candidate in taken or hasattr(BaseModel, candidate):
        candidate += "_"
    return candidate
