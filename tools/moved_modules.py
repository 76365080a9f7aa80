"""Old module names that still import after a package redesign, for one release.

A package lists where its modules went (`agent/moved.py`, `tools/moved.py`, `speech/moved.py`)
and installs a `MovedModules` finder from its `__init__`. `import agent.llama_chat` then gives
the module now at `agent.backends.llama_cpp.chat` (the same module object, so patches made
through either name are seen by both) with a DeprecationWarning naming the new place. It lives
in `tools`, the package that imports nothing else of stepvox, so all three can use it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from collections.abc import Mapping


class _Alias(importlib.abc.Loader):
    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def create_module(self, spec):  # noqa: ANN001 - the import system's signature
        warnings.warn(f"{self.old} moved to {self.new}; the old name goes in the next release",
                      DeprecationWarning, stacklevel=2)
        return importlib.import_module(self.new)

    def exec_module(self, module) -> None:  # noqa: ANN001 - already executed as `new`
        return None


class MovedModules(importlib.abc.MetaPathFinder):
    """Finds each old module name of `moved` as an alias of its new module."""

    def __init__(self, moved: Mapping[str, str]) -> None:
        self.moved = dict(moved)

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001
        new = self.moved.get(fullname)
        if new is None:
            return None
        return importlib.util.spec_from_loader(fullname, _Alias(fullname, new))


def install(moved: Mapping[str, str]) -> None:
    """Add a finder for `moved` once, ahead of the path finders (an old name has no file)."""
    if not any(isinstance(f, MovedModules) and f.moved == dict(moved) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedModules(moved))
