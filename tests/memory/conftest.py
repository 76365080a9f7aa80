"""Store fixtures: every store test runs on a SQLite file and on a real PostgreSQL server.

PostgreSQL: `STEPVOX_TEST_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/test`).
Each test gets its own schema (`stepvox_test_<random>`), dropped afterwards, so runs in
parallel and other users of the server never see each other's rows. Where no server answers
on loopback, the fixture makes one: Debian's `postgresql` package is installed when missing
(apt-get, as root), its cluster is started (`pg_ctlcluster`), and if that one still refuses
us (its loopback login wants a password), a private cluster is made with `initdb` in a temp
folder (run as the `postgres` user when we are root), trusting loopback, on a free port, and
stopped after the session. Only where all of that fails do the PostgreSQL cases skip, with the
reason; with `CI=true` they fail instead: CI must run them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote

import pytest
import pytest_asyncio

from memory.sql_engine import postgres_unreachable
from memory.sql_store import SqlDialogueStore

POSTGRES_URL = os.environ.get("STEPVOX_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


def _run(cmd: list[str], **kwargs) -> str | None:
    """None on success, else the command and the last line it printed."""
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    if done.returncode == 0:
        return None
    said = (done.stderr or done.stdout).strip().splitlines()
    return f"`{' '.join(cmd)}` failed: {said[-1] if said else f'exit {done.returncode}'}"


def _postgres_bin(name: str) -> str | None:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(found[-1]) if found else shutil.which(name)


def _install_postgres() -> str | None:
    """Debian's PostgreSQL, when it is not installed yet; returns why not where impossible."""
    if _postgres_bin("initdb") is not None:
        return None
    if shutil.which("apt-get") is None:
        return "PostgreSQL is not installed and there is no apt-get to install it"
    if os.geteuid() != 0:
        return "PostgreSQL is not installed and installing it needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return (_run(["apt-get", "update"], env=env, timeout=600)
            or _run(["apt-get", "install", "-y", "--no-install-recommends", "postgresql"],
                    env=env, timeout=900))


def _start_debian_clusters() -> None:
    """Debian's clusters, installed but stopped: start them (as the machine's set-up would)."""
    clusters = Path("/etc/postgresql")
    if shutil.which("pg_ctlcluster") is None or not clusters.is_dir():
        return
    for version in sorted(p.name for p in clusters.iterdir()):
        _run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
             timeout=60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateCluster:
    """A throwaway PostgreSQL cluster in a temp folder, trusting loopback logins."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="stepvox_pg_"))
        self.data = self.folder / "data"
        self.port = _free_port()
        # initdb refuses to run as root: run the server as the postgres user then.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def start(self) -> str | None:
        initdb, pg_ctl, psql = (_postgres_bin(n) for n in ("initdb", "pg_ctl", "psql"))
        if initdb is None or pg_ctl is None or psql is None:
            return "no initdb, pg_ctl or psql found"
        if self.as_user:
            shutil.chown(self.folder, "postgres")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder}"
        return (_run([*self.as_user, initdb, "-D", str(self.data), "-A", "trust", "-U",
                      "postgres"], timeout=120)
                or _run([*self.as_user, pg_ctl, "-D", str(self.data), "-l",
                         str(self.folder / "server.log"), "-o", options, "-w", "start"],
                        timeout=120)
                or _run([psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                         "-c", "CREATE DATABASE test"], timeout=60))

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/test"

    def stop(self) -> None:
        if (pg_ctl := _postgres_bin("pg_ctl")) is not None and self.data.is_dir():
            _run([*self.as_user, pg_ctl, "-D", str(self.data), "-m", "fast", "stop"], timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


def _local_server() -> Iterator[str]:
    """Install and start PostgreSQL on loopback; yields its URL, raises `RuntimeError(why)`."""
    if (why := _install_postgres()) is not None:
        raise RuntimeError(why)
    _start_debian_clusters()
    if postgres_unreachable(POSTGRES_URL) is None:
        yield POSTGRES_URL
        return
    cluster = PrivateCluster()
    try:
        if (why := cluster.start()) is not None:
            raise RuntimeError(why)
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    reason = postgres_unreachable(POSTGRES_URL)
    if reason is None:
        yield POSTGRES_URL
        return
    if "127.0.0.1" in POSTGRES_URL or "localhost" in POSTGRES_URL:
        server = _local_server()
        try:
            url = next(server)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            reason = f"{reason}; starting one here failed: {exc}"
        else:
            yield url
            server.close()  # stops a private cluster
            return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
    pytest.skip(f"{reason}; set STEPVOX_TEST_POSTGRES_URL to run the PostgreSQL cases")


@pytest.fixture
def postgres_schema_url(postgres_server: str):
    """A URL whose search_path is a fresh schema; the schema is dropped after the test."""
    import psycopg

    schema = f"stepvox_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in postgres_server else "?"
    yield f"{postgres_server}{separator}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite3")
    return request.getfixturevalue("postgres_schema_url")


@pytest_asyncio.fixture(loop_scope="function")
async def store(store_url: str) -> AsyncIterator[SqlDialogueStore]:
    async with SqlDialogueStore(store_url) as opened:
        yield opened
