"""Fixtures for the store tests: an isolated data dir per test, and a REAL PostgreSQL server.

PostgreSQL: `STUDIO_TEST_POSTGRES_URL` (a server URL whose user may CREATE DATABASE) if set; otherwise
a throwaway cluster from the Debian/Ubuntu binaries (`apt-get install postgresql`), started once per
test session. Without the binaries the PostgreSQL tests skip locally but FAIL under `CI`.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from store import settings
from store.db import dispose_engine

POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"


@pytest.fixture(autouse=True)
def studio_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own data dir (hence its own SQLite DB) and no inherited studio settings."""
    data = tmp_path / "studio-data"
    monkeypatch.setenv("STUDIO_DATA_DIR", str(data))
    for name in ("STUDIO_DATABASE_URL", "STUDIO_REDIS_URL", "STUDIO_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    return data


class ThrowawayPostgres:
    """initdb + pg_ctl in a temp dir on 127.0.0.1, trust auth; run as `postgres` when we are root."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="studio-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()

    def start(self) -> str:
        if os.geteuid() == 0:
            # initdb refuses to run as root; the cluster's files must belong to `postgres`.
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        # -F: no fsync, -k: sockets in our temp dir (the system socket dir may not be writable).
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -F"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.root)
        if completed.returncode != 0:
            log = self.root / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{program} failed ({completed.returncode}): {completed.stderr}\n{tail}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _postgres_bin_dir() -> Path | None:
    candidates = sorted(glob.glob(POSTGRES_BIN_GLOB))
    return Path(candidates[-1]) if candidates and Path(candidates[-1], "initdb").exists() else None


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A URL to a real PostgreSQL server (its maintenance database)."""
    configured = os.environ.get("STUDIO_TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    bin_dir = _postgres_bin_dir()
    if bin_dir is None:
        message = f"no PostgreSQL binaries under {POSTGRES_BIN_GLOB}: apt-get install postgresql"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must not skip the PostgreSQL tests)")
        pytest.skip(message)
    server = ThrowawayPostgres(bin_dir)
    try:
        yield server.start()
    finally:
        server.stop()


def _admin_engine(server_url: str) -> sa.Engine:
    return sa.create_engine(server_url, isolation_level="AUTOCOMMIT")


@pytest.fixture
def postgres_database_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty database per test (so every test also migrates from scratch)."""
    name = f"studio_test_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine(postgres_server_url)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        dispose_engine(url)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The store pointed at SQLite (the default file in the test's data dir) or a fresh PostgreSQL DB."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_database_url")
        monkeypatch.setenv("STUDIO_DATABASE_URL", url)
        yield url
        return
    url = settings.database_url()
    yield url
    dispose_engine(url)
